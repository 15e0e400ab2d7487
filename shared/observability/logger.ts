import { Logger } from '@aws-lambda-powertools/logger';

/** Structured JSON logs (Powertools). The service name comes from POWERTOOLS_SERVICE_NAME. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'iap-backend' });
