/** Resume positions kept in memory per device: the reference lab restarts clean with every run. */
export class ProgressStore {
  readonly #byDevice = new Map<string, Map<string, number>>();

  get(device: string, titleId: string): number {
    return this.#byDevice.get(device)?.get(titleId) ?? 0;
  }

  all(device: string): Record<string, number> {
    return Object.fromEntries(this.#byDevice.get(device) ?? []);
  }

  set(device: string, titleId: string, positionSec: number): void {
    let titles = this.#byDevice.get(device);
    if (!titles) {
      titles = new Map();
      this.#byDevice.set(device, titles);
    }
    if (positionSec > 0) titles.set(titleId, positionSec);
    else titles.delete(titleId);
  }

  clear(device: string): void {
    this.#byDevice.delete(device);
  }
}
