// The framed survey's thank-you page tells the portal around it that the survey was
// answered: {type: "hailong:answered", survey_id}. Only a page of an origin the operator
// allowed (HAILONG_EMBED_ORIGINS) receives it. Without JavaScript nothing is lost but the
// message: the answer is stored by the form's own POST.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.parent === window) return;
  var allowed = (script.getAttribute("data-origins") || "").split(" ").filter(Boolean);
  var message = { type: "hailong:answered", survey_id: script.getAttribute("data-survey-id") };
  // Where the browser names the parent's origin, post to it alone (if allowed); elsewhere
  // post to each allowed origin: the browser delivers only the one matching the parent.
  var ancestors = window.location.ancestorOrigins;
  var targets = ancestors && ancestors.length
    ? allowed.filter(function (origin) { return origin === ancestors[0]; })
    : allowed;
  targets.forEach(function (origin) { window.parent.postMessage(message, origin); });
})();
