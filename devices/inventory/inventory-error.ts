/** One problem in an inventory file, located as precisely as the YAML allows. */
export interface InventoryIssue {
  file: string;
  /** Device id when the entry has one, else undefined. */
  deviceId?: string;
  /** Index of the entry in `devices`. */
  index?: number;
  /** Dotted path inside the entry (or the file when no entry), e.g. `settings.server`. */
  field: string;
  line: number;
  column: number;
  message: string;
}

export function formatIssue(issue: InventoryIssue): string {
  const where =
    issue.index === undefined
      ? ''
      : ` device ${issue.deviceId ? `"${issue.deviceId}"` : '(no id)'} (#${issue.index})`;
  return `${issue.file}:${issue.line}:${issue.column}:${where} field "${issue.field}": ${issue.message}`;
}

export class InventoryError extends Error {
  constructor(readonly issues: InventoryIssue[]) {
    super(`Invalid device inventory:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`);
    this.name = 'InventoryError';
  }
}
