/** One figure of a benchmark, as `npm run bench` prints it and writes it to bench-results/. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  goal?: string;
}
