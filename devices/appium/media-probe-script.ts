/** What an emulated device claims it can decode. */
export interface MediaProfile {
  codecs: string[];
  hdr: string[];
}

/**
 * Browser-side source (kept as a string so no bundler helper leaks into it): replaces
 * MediaSource.isTypeSupported, HTMLMediaElement.canPlayType and the dynamic-range media queries so that
 * feature detection in web apps sees the device's decoders instead of the host Chromium's.
 */
const PROBE_SOURCE = `
(function (profile) {
  var codecs = profile.codecs, hdr = profile.hdr;
  var has = function (c) { return codecs.indexOf(c) >= 0; };
  var FAMILIES = [
    [/^(avc1|avc3)(\\.|$)/, function () { return has('h264'); }],
    [/^(hvc1|hev1)(\\.|$)/, function () { return has('hevc'); }],
    [/^(dvh1|dvhe)(\\.|$)/, function () { return has('hevc') && hdr.indexOf('dolby-vision') >= 0; }],
    [/^(dav1)(\\.|$)/, function () { return has('av1') && hdr.indexOf('dolby-vision') >= 0; }],
    [/^av01(\\.|$)/, function () { return has('av1'); }],
    [/^(vp09|vp9)(\\.|$)/, function () { return has('vp9'); }],
    [/^vp8$/, function () { return has('vp8') || has('vp9'); }],
    [/^(mp4a|opus|flac|vorbis)(\\.|$)/, function () { return true; }],
    [/^(ec-3|ac-3)$/, function (c) { return has(c.replace('-', '')); }],
  ];
  var codecOk = function (c) {
    c = c.trim().toLowerCase();
    for (var i = 0; i < FAMILIES.length; i++) if (FAMILIES[i][0].test(c)) return FAMILIES[i][1](c);
    return false;
  };
  var supported = function (type) {
    if (typeof type !== 'string') return false;
    var m = /^\\s*(video|audio)\\/(mp4|webm|mp2t)\\s*(;\\s*codecs\\s*=\\s*"?([^"]*)"?)?\\s*$/i.exec(type);
    if (!m) return false;
    if (!m[4]) return true;
    var list = m[4].split(',');
    for (var i = 0; i < list.length; i++) if (!codecOk(list[i])) return false;
    return true;
  };
  var define = function (obj, name, fn) {
    // A property the page made non-configurable keeps the host's answer: said in the browser log (an
    // artifact of the attempt), so a codec verdict that follows from it can be traced.
    try { Object.defineProperty(obj, name, { value: fn, configurable: true, writable: true }); }
    catch (e) { console.error('devlab media emulation: ' + name + ' not replaced, the host answer stays: ' + e); }
  };
  if (typeof MediaSource !== 'undefined') define(MediaSource, 'isTypeSupported', function (t) { return supported(t); });
  if (typeof ManagedMediaSource !== 'undefined') define(ManagedMediaSource, 'isTypeSupported', function (t) { return supported(t); });
  if (typeof HTMLMediaElement !== 'undefined') {
    define(HTMLMediaElement.prototype, 'canPlayType', function (t) {
      if (!supported(t)) return '';
      return /codecs/i.test(t) ? 'probably' : 'maybe';
    });
  }
  var realMatchMedia = window.matchMedia && window.matchMedia.bind(window);
  if (realMatchMedia) {
    define(window, 'matchMedia', function (q) {
      var m = /\\(\\s*(video-)?dynamic-range\\s*:\\s*(high|standard)\\s*\\)/i.exec(String(q));
      if (!m) return realMatchMedia(q);
      var answer = m[2].toLowerCase() === 'high' ? hdr.length > 0 : true;
      var real = realMatchMedia(q);
      return Object.create(real, { matches: { value: answer } });
    });
  }
  Object.defineProperty(window, '__devlabMediaProfile', { value: Object.freeze({ codecs: codecs.slice(), hdr: hdr.slice() }) });
})
`;

/** The script to evaluate on every new document for this profile. */
export function mediaProbeScript(profile: MediaProfile): string {
  return `${PROBE_SOURCE.trim()}(${JSON.stringify({ codecs: profile.codecs, hdr: profile.hdr })});`;
}
