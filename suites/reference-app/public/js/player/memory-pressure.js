// Low-memory TVs kill apps that hold on to decoder and session state after playback; the app drops
// it eagerly on those devices.
const LOW_MEMORY_MB = 1024;

export function isLowMemory(device) {
  return device.memoryMb < LOW_MEMORY_MB;
}

/** Frees what a finished playback session holds; the session object is reset in place. */
export function releasePlaybackSession(session) {
  session.cues = [];
  session.stream = null;
  // DEFECT D5 (DEFECTS.md): the position is part of the "session" that gets reset, and the player
  // releases the session before it saves progress, so low-memory devices save 0 and lose resume.
  session.position = 0;
}
