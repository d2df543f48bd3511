// Entry of devlab's helper processes (model training, the prediction report): takes one message naming a
// TypeScript module and its input, runs the module's `run(data)` through tsx (as the `devlab` bin does),
// sends back what it resolves to (or its error) and exits.
import { register } from 'tsx/esm/api';

register();
// Orphaned (the control plane died): stop, rather than train for nobody.
process.on('disconnect', () => process.exit(1));
process.once('message', async ({ module, data }) => {
  let answer;
  try {
    const mod = await import(module);
    answer = { ok: true, value: await mod.run(data) };
  } catch (err) {
    answer = { ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  process.send(answer, () => process.exit(answer.ok ? 0 : 1));
});
