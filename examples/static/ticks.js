// Reads /stream as it arrives (one line per tick) and shows each line as soon as it lands.
async function follow() {
  const out = document.getElementById("ticks");
  const response = await fetch("/stream");
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out.textContent += decoder.decode(value, { stream: true });
  }
}
follow();
