// Signer page: ask an injected EIP-1193 wallet (window.ethereum) to sign the action's EIP-712
// typed data, then send the signature to Concord, which accepts it only from a Safe owner.
(function () {
  "use strict";
  const result = document.getElementById("sign-result");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const typedData = JSON.parse(document.getElementById("typed-data").textContent);
  const rejection = JSON.parse(document.getElementById("rejection-message").textContent);

  function utf8Hex(text) {
    return "0x" + Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");
  }

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
      // Approve: sign the Safe transaction (EIP-712). Reject: sign the rejection text (personal_sign).
      const signature = path === "signatures"
        ? await window.ethereum.request({ method: "eth_signTypedData_v4", params: [signer, JSON.stringify(typedData)] })
        : await window.ethereum.request({ method: "personal_sign", params: [utf8Hex(rejection), signer] });
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
           (body.status ? " — status: " + body.status : "") +
           (body.executed_tx_hash ? " — executed in " + body.executed_tx_hash : ""), true);
      if (body.signed_by) {
        document.getElementById("signature-count").textContent = body.signed_by.length;
        const list = document.getElementById("signers");
        list.innerHTML = "";
        for (const s of body.signed_by) {
          const item = document.createElement("li");
          const code = document.createElement("code");
          code.textContent = s.owner;
          item.appendChild(code);
          item.appendChild(document.createTextNode(" " + s.kind));
          list.appendChild(item);
        }
      }
      if (body.status) {
        document.getElementById("action-status").textContent = body.status;
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
