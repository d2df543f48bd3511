// Entry of devlab's helper processes (model training, the prediction report): takes one message naming a
// module and its input, runs the module's `run(data)` (a TypeScript source through tsx, as the `devlab` bin
// does in a checkout; a compiled dist/ module as it is), sends back what it resolves to (or its error) and
// exits.

// Orphaned (the control plane died): stop, rather than train for nobody.
process.on('disconnect', () => process.exit(1));
process.once('message', async ({ module, data }) => {
  let answer;
  try {
    if (new URL(module).pathname.endsWith('.ts')) (await import('tsx/esm/api')).register();
    const mod = await import(module);
    answer = { ok: true, value: await mod.run(data) };
  } catch (err) {
    answer = { ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  process.send(answer, () => process.exit(answer.ok ? 0 : 1));
});
