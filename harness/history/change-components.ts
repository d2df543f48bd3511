import picomatch from 'picomatch';

/** The config's path -> component map: `{ player: ['src/player/**'] }` (picomatch globs). */
export type ComponentMap = Readonly<Record<string, readonly string[]>>;

/** Components whose globs match any of the paths (sorted, each once). Compiles the globs once per map. */
export function componentMatcher(map: ComponentMap): (paths: readonly string[]) => string[] {
  const matchers = Object.entries(map).map(
    ([component, globs]) => [component, picomatch([...globs], { dot: true })] as const,
  );
  return (paths) => {
    const out = new Set<string>();
    for (const [component, isMatch] of matchers)
      if (paths.some((p) => isMatch(p.replace(/^\.?\//, '')))) out.add(component);
    return [...out].sort();
  };
}

/**
 * The components a change touched: those it names, those the request's older `changedComponents` name,
 * and those its changed paths map to.
 */
export function changedComponents(
  named: readonly string[],
  changedPaths: readonly string[] | undefined,
  match: ((paths: readonly string[]) => string[]) | undefined,
): string[] {
  const fromPaths = changedPaths && match ? match(changedPaths) : [];
  return [...new Set([...named, ...fromPaths])].sort();
}
