// Signer page: ask an injected EIP-1193 wallet (window.ethereum) to sign the action's EIP-712
// typed data, then send the signature to Concord, which accepts it only from a Safe owner.
(function () {
  "use strict";
  const result = document.getElementById("sign-result");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const typedData = JSON.parse(document.getElementById("typed-data").textContent);

  function show(text, ok) {
    result.textContent = text;
    result.className = ok ? "ok" : "error";
  }

  async function signAndSend(button, path) {
    if (!window.ethereum) {
      show("No wallet found: install or unlock a browser wallet (EIP-1193) and reload.", false);
      return;
    }
    button.disabled = true;
    try {
      const accounts = await window.ethereum.request({ method: "eth_requestAccounts" });
      const signer = accounts[0];
      const signature = await window.ethereum.request({
        method: "eth_signTypedData_v4",
        params: [signer, JSON.stringify(typedData)],
      });
      const response = await fetch("/api/actions/" + button.dataset.actionId + "/" + path, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ signer: signer, signature: signature }),
      });
      const body = await response.json();
      if (!response.ok) {
        show("Refused: " + (body.error || body.detail || response.status), false);
        button.disabled = false;
        return;
      }
      show((path === "signatures" ? "Signature accepted" : "Rejection recorded") +
           (body.status ? " — status: " + body.status : ""), true);
      if (body.signers) {
        document.getElementById("signature-count").textContent = body.signers.length;
      }
    } catch (err) {
      show("Wallet error: " + (err && err.message ? err.message : err), false);
      button.disabled = false;
    }
  }

  const sign = document.getElementById("sign-button");
  if (sign) sign.addEventListener("click", () => signAndSend(sign, "signatures"));
  const reject = document.getElementById("reject-button");
  if (reject) reject.addEventListener("click", () => signAndSend(reject, "rejections"));
})();
