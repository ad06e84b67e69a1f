/* The slip's QR code, read with the tablet camera: BarcodeDetector where the platform has
   one (Chrome on Android); else jsQR, fetched from hailong itself the first time someone
   scans. */
import { deco, el, t } from "./util.js";
import { isShowing, show } from "./screens.js";

export const SCAN_SECONDS = 60;
const JSQR = "/static/vendor/jsQR-1.4.0.js";

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = el("script", { src });
    script.addEventListener("load", resolve);
    script.addEventListener("error", reject);
    document.head.append(script);
  });
}

async function qrReader(video) {
  if ("BarcodeDetector" in window) {
    const formats = await window.BarcodeDetector.getSupportedFormats().catch(() => []);
    if (formats.includes("qr_code")) {
      const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      return async () => {
        const codes = await detector.detect(video).catch(() => []);
        return codes.length > 0 ? codes[0].rawValue : null;
      };
    }
  }
  if (!window.jsQR) await loadScript(JSQR);
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async () => {
    if (!video.videoWidth) return null;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    context.drawImage(video, 0, 0);
    const frame = context.getImageData(0, 0, canvas.width, canvas.height);
    const found = window.jsQR(frame.data, frame.width, frame.height, { inversionAttempts: "dontInvert" });
    return found ? found.data : null;
  };
}

/* onCode(text) with what was read; onBack() when the citizen goes back; onGiveUp() when
   nothing was read in time (typing the code still works); onScanning() once the camera
   runs (the citizen holds a slip up without touching the screen). The camera stops as soon
   as the screen is left some other way (the idle reset): nothing read after that counts. */
export async function showScanner({ onCode, onBack, onGiveUp, onScanning }) {
  let stream = null;
  const video = el("video", { autoplay: true, playsinline: true, muted: true, class: "camera", id: "camera" });
  const stop = () => { if (stream) stream.getTracks().forEach((track) => track.stop()); stream = null; };
  const error = el("p", { class: "error", id: "scan-error", role: "alert" });
  const token = show(() => [el("h1", {}, t("scan")), el("p", { class: "hint" }, t("scan_hint")), video, error,
    el("button", { type: "button", class: "secondary", onclick: () => { stop(); onBack(); } }, deco("← "), t("back"))]);
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    video.srcObject = stream;
    if (onScanning) onScanning();
    const read = await qrReader(video);
    const started = Date.now();
    while (stream && isShowing(token) && Date.now() - started < SCAN_SECONDS * 1000) {
      const value = await read();
      if (value && isShowing(token)) {
        stop();
        await onCode(value);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } catch (e) {
    console.warn("camera unavailable", e);
    error.textContent = t("no_camera");
  }
  stop();
  if (isShowing(token) && !error.textContent) onGiveUp();
}
