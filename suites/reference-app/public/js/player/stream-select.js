import { resolutionRank } from '../device.js';

const CODEC_PREFERENCE = ['av1', 'hevc', 'h264', 'vp9'];
// 4K decode needs room for its frame buffers; below this the ladder is capped at 1080p.
const MIN_MEMORY_FOR_4K_MB = 2048;

function pickHdr(title, device, codec) {
  if (codec !== 'hevc' && codec !== 'av1') return 'sdr';
  // DEFECT D6 (DEFECTS.md): any HDR-capable device gets the Dolby Vision grade; the check should
  // be device.hdr.includes('dolby-vision'). HDR10-only panels then show the DV base layer washed out.
  if (title.hdr.includes('dolby-vision') && device.hdr.length > 0) return 'dolby-vision';
  if (title.hdr.includes('hdr10') && device.hdr.includes('hdr10')) return 'hdr10';
  return 'sdr';
}

/** The stream to play: {codec, resolution, hdr} or {error: {code, message}}. */
export function selectStream(title, device) {
  // DEFECT D1 (DEFECTS.md): titles whose primary encode is HEVC refuse to start without an HEVC
  // decoder, although they carry an H.264 fallback the generic path below would pick.
  if (title.preferredCodec === 'hevc' && !device.codecs.includes('hevc')) {
    return { error: { code: 'PLAY-3001', message: 'HEVC decoder unavailable for this title' } };
  }
  const codec = CODEC_PREFERENCE.find((c) => title.codecs.includes(c) && device.codecs.includes(c));
  if (!codec) {
    return { error: { code: 'PLAY-3002', message: 'This device cannot decode any format of this title' } };
  }
  let resolution =
    resolutionRank(device.resolution) < resolutionRank(title.maxResolution)
      ? device.resolution
      : title.maxResolution;
  // DEFECT D7 (DEFECTS.md): the memory cap was added for HEVC only; the AV1 ladder still asks for
  // 4K on low-memory devices and the decoder fails to allocate (PLAY-4002) once playback starts.
  if (resolution === '2160p' && codec === 'hevc' && device.memoryMb < MIN_MEMORY_FOR_4K_MB)
    resolution = '1080p';
  return { codec, resolution, hdr: pickHdr(title, device, codec) };
}

/** Failures that only show once the decoder is configured, like on real hardware. */
export function decoderStartError(stream, device) {
  if (stream.codec === 'av1' && stream.resolution === '2160p' && device.memoryMb < MIN_MEMORY_FOR_4K_MB) {
    return { code: 'PLAY-4002', message: 'Decoder could not allocate 4K frame buffers' };
  }
  return null;
}

/** How the panel renders the grade: DV streams on non-DV panels fall back to a mis-mapped base layer. */
export function toneMapping(stream, device) {
  if (stream.hdr === 'dolby-vision' && !device.hdr.includes('dolby-vision')) return 'washed-out';
  return 'correct';
}
