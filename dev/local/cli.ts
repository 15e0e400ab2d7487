// What the `npm run …` commands that talk to a running `npm start` share.

/** The port of the local runtime: PORT, or 3000 when it is unset or blank. */
export const localPort = (env: NodeJS.ProcessEnv = process.env): string => env.PORT || '3000';

/** The local runtime's base URL, from PORT. */
export const localApiUrl = (env: NodeJS.ProcessEnv = process.env): string =>
  `http://127.0.0.1:${localPort(env)}`;

/** Runs a command's main(): its result becomes the exit code; an error is printed, exit code 1. */
export function runCli(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
