/** A setting of the stage is wrong; the message names it and how to fix it. */
export class StageConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StageConfigError';
  }
}
