/**
 * The parent side of a forked bench helper that does one kind of job: each `{cmd: 'run', callId}`
 * message runs `run(msg)` and is answered with its result (or its error) under the same callId.
 * The helper exits when the parent goes away or asks it to stop.
 */
export function answerRuns(run) {
  process.on('message', (msg) => {
    if (msg.cmd !== 'run') {
      process.send({ callId: msg.callId, error: `unknown command ${msg.cmd}` });
      return;
    }
    run(msg).then(
      (result) => process.send({ ...result, callId: msg.callId }),
      (error) => process.send({ callId: msg.callId, error: String(error?.stack ?? error) }),
    );
  });
  process.on('SIGTERM', () => process.exit(0));
  process.on('disconnect', () => process.exit(0));
}
