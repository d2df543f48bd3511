/** One title of the reference catalog; the player picks a stream from `codecs`, `hdr` and `maxResolution`. */
export interface Title {
  id: string;
  name: string;
  year: number;
  genre: string;
  description: string;
  durationSec: number;
  /** Codecs the title is encoded in. */
  codecs: string[];
  /** The codec the packager marks as primary; the player treats it specially (see DEFECTS.md D1). */
  preferredCodec: string;
  /** HDR grades available besides SDR. */
  hdr: string[];
  maxResolution: '1080p' | '2160p';
  subtitles: string[];
  audio: string[];
}

export interface Row {
  id: string;
  name: string;
  titleIds: string[];
}

const SUBS = ['en', 'es', 'de'];
const AUDIO = ['en', 'es'];

function title(t: Partial<Title> & Pick<Title, 'id' | 'name' | 'genre' | 'year'>): Title {
  return {
    description: `${t.name}: a ${t.genre.toLowerCase()} from ${t.year}.`,
    durationSec: 1800,
    codecs: ['h264'],
    preferredCodec: 'h264',
    hdr: [],
    maxResolution: '1080p',
    subtitles: SUBS,
    audio: AUDIO,
    ...t,
  };
}

export const TITLES: Title[] = [
  title({ id: 't-harbor', name: 'Harbor Lights', genre: 'Drama', year: 2021 }),
  title({
    id: 't-aurora',
    name: 'Aurora Peaks',
    genre: 'Documentary',
    year: 2024,
    codecs: ['hevc', 'h264'],
    preferredCodec: 'hevc',
    maxResolution: '2160p',
  }),
  title({
    id: 't-nebula',
    name: 'Nebula Drift',
    genre: 'Sci-Fi',
    year: 2025,
    codecs: ['hevc', 'h264'],
    preferredCodec: 'h264',
    hdr: ['dolby-vision', 'hdr10'],
    maxResolution: '2160p',
  }),
  title({
    id: 't-coral',
    name: 'Coral Kingdom',
    genre: 'Documentary',
    year: 2023,
    codecs: ['av1', 'hevc', 'h264'],
    preferredCodec: 'av1',
    maxResolution: '2160p',
  }),
  title({
    id: 't-summit',
    name: 'Summit Run',
    genre: 'Sports',
    year: 2024,
    codecs: ['hevc', 'h264'],
    hdr: ['hdr10'],
    maxResolution: '2160p',
  }),
  title({ id: 't-lantern', name: 'The Lantern Keeper', genre: 'Drama', year: 2019 }),
  title({ id: 't-circuit', name: 'Circuit Breakers', genre: 'Comedy', year: 2022 }),
  title({ id: 't-falcon', name: 'Falcon Ridge', genre: 'Western', year: 2018 }),
  title({ id: 't-orbit', name: 'Orbit School', genre: 'Kids', year: 2023 }),
  title({ id: 't-pebble', name: 'Pebble and Pine', genre: 'Kids', year: 2020 }),
  title({ id: 't-tide', name: 'Tide Tables', genre: 'Documentary', year: 2022 }),
  title({ id: 't-velvet', name: 'Velvet Static', genre: 'Music', year: 2021 }),
  title({ id: 't-quarry', name: 'Quarry Nine', genre: 'Thriller', year: 2024 }),
  title({ id: 't-meadow', name: 'Meadow Hours', genre: 'Drama', year: 2017 }),
  title({
    id: 't-glacier',
    name: 'Glacier Song',
    genre: 'Documentary',
    year: 2025,
    codecs: ['av1'],
    preferredCodec: 'av1',
  }),
];

export const ROWS: Row[] = [
  { id: 'featured', name: 'Featured', titleIds: ['t-aurora', 't-nebula', 't-coral', 't-summit', 't-harbor'] },
  {
    id: 'trending',
    name: 'Trending',
    titleIds: ['t-quarry', 't-circuit', 't-falcon', 't-velvet', 't-lantern', 't-tide'],
  },
  { id: 'documentaries', name: 'Documentaries', titleIds: ['t-tide', 't-aurora', 't-coral', 't-glacier'] },
  { id: 'kids', name: 'Kids', titleIds: ['t-orbit', 't-pebble', 't-meadow'] },
];

export function findTitle(id: string): Title | undefined {
  return TITLES.find((t) => t.id === id);
}

/** Case-insensitive match on name and genre, in catalog order. */
export function searchTitles(query: string): Title[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  return TITLES.filter((t) => t.name.toLowerCase().includes(q) || t.genre.toLowerCase().includes(q));
}

const CUES: Record<string, string[]> = {
  en: ['Hello from the reference lab.', 'The signal is clear tonight.', 'Hold on, we are almost there.'],
  es: ['Hola desde el laboratorio.', 'La señal es clara esta noche.', 'Espera, ya casi llegamos.'],
  de: ['Hallo aus dem Labor.', 'Das Signal ist heute klar.', 'Warte, wir sind fast da.'],
};

function stamp(sec: number): string {
  const hh = String(Math.floor(sec / 3600)).padStart(2, '0');
  const mm = String(Math.floor((sec % 3600) / 60)).padStart(2, '0');
  const ss = String(sec % 60).padStart(2, '0');
  return `${hh}:${mm}:${ss}.000`;
}

/** WebVTT with full hh:mm:ss.mmm stamps (valid WebVTT; the legacy renderer in DEFECTS.md D4 chokes on them). */
export function subtitlesVtt(titleId: string, lang: string): string | undefined {
  const t = findTitle(titleId);
  const lines = CUES[lang];
  if (!t || !lines || !t.subtitles.includes(lang)) return undefined;
  const cues = lines.map((text, i) => `${i + 1}\n${stamp(i * 20)} --> ${stamp(i * 20 + 20)}\n${text}\n`);
  return `WEBVTT\n\n${cues.join('\n')}`;
}
