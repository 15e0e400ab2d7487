// Why the sandbox refused a control request, with the HTTP status the control API answers.

export type SandboxErrorCode =
  | 'UNKNOWN_PURCHASE'
  | 'UNKNOWN_PRODUCT'
  | 'UNSUPPORTED'
  | 'INVALID_STATE'
  | 'INVALID_INPUT';

const STATUS: Record<SandboxErrorCode, number> = {
  UNKNOWN_PURCHASE: 404,
  UNKNOWN_PRODUCT: 400,
  UNSUPPORTED: 400,
  INVALID_STATE: 409,
  INVALID_INPUT: 400,
};

export class SandboxError extends Error {
  readonly code: SandboxErrorCode;
  readonly status: number;

  constructor(code: SandboxErrorCode, message: string) {
    super(message);
    this.name = 'SandboxError';
    this.code = code;
    this.status = STATUS[code];
  }
}
