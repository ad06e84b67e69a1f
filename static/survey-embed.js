// Every framed page of the survey talks to the portal around it, and only to an origin the
// operator allowed (HAILONG_EMBED_ORIGINS):
//   {type: "hailong:size", height}: the page's height in CSS pixels, at load and whenever it
//     changes, so that the portal sizes its frame (a bare iframe is 150 px tall, and the
//     form is about 2,000 px on a phone);
//   {type: "hailong:shown"}: a new page is in the frame (the thank-you page after the
//     answer, the form again with what to fix): the portal brings the frame's top into
//     view, or the citizen who tapped "send" at the bottom saw an empty box (audit);
//   {type: "hailong:answered", survey_id}: the survey is answered (the thank-you page, the
//     "already answered" one).
// Without JavaScript nothing is lost but the messages: the answer is stored by the form's
// own POST.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.parent === window) return;
  var allowed = (script.getAttribute("data-origins") || "").split(" ").filter(Boolean);
  // Where the browser names the parent's origin, post to it alone (if allowed); elsewhere
  // post to each allowed origin: the browser delivers only the one matching the parent.
  var ancestors = window.location.ancestorOrigins;
  var targets = ancestors && ancestors.length
    ? allowed.filter(function (origin) { return origin === ancestors[0]; })
    : allowed;
  function post(message) {
    targets.forEach(function (origin) { window.parent.postMessage(message, origin); });
  }

  // The content's own height: the document's would be the frame's once the portal has made
  // it taller than the page, and a shorter page (the thank-you) would never shrink it.
  var sent = 0;
  function size() {
    var body = document.body;
    var height = Math.ceil(
      body.getBoundingClientRect().height +
      parseFloat(getComputedStyle(body).marginTop) +
      parseFloat(getComputedStyle(body).marginBottom)
    );
    if (height !== sent) {
      sent = height;
      post({ type: "hailong:size", height: height });
    }
  }

  post({ type: "hailong:shown" });
  var surveyId = script.getAttribute("data-survey-id");
  if (surveyId) post({ type: "hailong:answered", survey_id: surveyId });
  size();
  if (window.ResizeObserver) new ResizeObserver(size).observe(document.body);
  window.addEventListener("load", size);
  window.addEventListener("resize", size);

  // Chromium ignores `autofocus` in a frame of another origin: the list of what to fix
  // (the form sent back) is focused from here, as the phone page focuses it.
  var wanted = document.querySelector("[autofocus]");
  if (wanted && document.activeElement === document.body) wanted.focus();
})();
