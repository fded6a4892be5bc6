// The candidate's media link: one peer connection per attempt (a rejoin makes a new one that
// the server attaches to the same analysis session), and when it counts as dropped.
import { api, iceGatheringDone } from "/static/common.js";

export const DROP_GRACE_MS = 4000; // "disconnected" this long (or "failed" at once) is a drop
export const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000]; // between rejoin attempts

// Sends the stream; resolves with the connected peer connection's handle once answered.
// onDrop() is called once if the connection later drops.
export async function connectMedia({ id, token, iceServers, stream, onState, onDrop }) {
  const pc = new RTCPeerConnection({ iceServers });
  let dropTimer = 0;
  let dropped = false;
  const drop = () => {
    if (dropped || pc.signalingState === "closed") return;
    dropped = true;
    onDrop();
  };
  pc.addEventListener("connectionstatechange", () => {
    const state = pc.connectionState;
    onState(state);
    clearTimeout(dropTimer);
    if (state === "failed") drop();
    else if (state === "disconnected") dropTimer = setTimeout(drop, DROP_GRACE_MS);
  });
  try {
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    await pc.setLocalDescription(await pc.createOffer());
    await iceGatheringDone(pc);
    const answer = await api(`/api/interviews/${id}/offer`, token, {
      sdp: pc.localDescription.sdp,
      type: "offer",
    });
    await pc.setRemoteDescription(answer);
  } catch (err) {
    pc.close();
    throw err;
  }
  return {
    pc,
    close() {
      dropped = true; // closing on purpose is no drop
      clearTimeout(dropTimer);
      pc.close();
    },
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
