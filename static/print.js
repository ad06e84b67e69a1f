// A button instead of "press Ctrl+P": counter staff print the slip with one tap.
document.getElementById("print")?.addEventListener("click", () => window.print());
