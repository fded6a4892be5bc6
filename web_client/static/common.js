// Shared by the candidate and interviewer pages: token handling, API calls, WebRTC helpers.

export function interviewId() {
  return location.pathname.split("/").filter(Boolean).pop();
}

// Tokens arrive in the URL fragment (never sent to servers or logs). Keep it for reloads in
// this tab only, and take it out of the address bar so it is not shared by accident.
export function takeToken(kind) {
  const key = `hirestream:${kind}:${interviewId()}`;
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    sessionStorage.setItem(key, fromHash);
    history.replaceState(null, "", location.pathname);
  }
  return sessionStorage.getItem(key);
}

export async function api(path, token, body, method) {
  const res = await fetch(path, {
    method: method || (body === undefined ? "GET" : "POST"),
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return jsonOrThrow(res);
}

// A response's JSON body, or an Error carrying the server's message and the status.
export async function jsonOrThrow(res) {
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.error || `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return data;
}

export function iceGatheringDone(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (pc.iceGatheringState === "complete") {
        pc.removeEventListener("icegatheringstatechange", check);
        resolve();
      }
    };
    pc.addEventListener("icegatheringstatechange", check);
    setTimeout(resolve, 3000); // enough host candidates by then; do not wait on STUN
  });
}

// onClose(ev, { opened, blocked }): `blocked` when the socket never opened — the server refused
// the page's origin (a host not in allowed_origins) or a proxy does not pass WebSockets; the
// page must say so rather than stay empty. 4401/4429 arrive as close codes after opening.
export function liveSocket(id, token, onRecord, onClose) {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/interviews/${id}/live`);
  let opened = false;
  ws.onopen = () => {
    opened = true;
    ws.send(JSON.stringify({ token }));
  };
  ws.onmessage = (ev) => onRecord(JSON.parse(ev.data));
  ws.onclose = (ev) => onClose && onClose(ev, { opened, blocked: !opened });
  return ws;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}
