// Attesto credentials as two secrets, so each function can read only what it uses: the API key
// (verify, restore and the consumer call Attesto) and the webhook signing secrets (only the
// webhook function checks signatures). Each is either an existing secret (by ARN) or one created
// here with a placeholder value that fails closed: the placeholder key is rejected by Attesto and
// an empty webhookSecrets list accepts no webhook.
import { type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { SecretKey } from '../functions';

type AttestoSecretKey = Extract<SecretKey, 'attestoApiKey' | 'attestoWebhookSecrets'>;

export interface AttestoSecretsProps {
  existingApiKeySecretArn?: string;
  existingWebhookSecretsArn?: string;
  removalPolicy: RemovalPolicy;
}

const SECRET_PLACEHOLDER_API_KEY = 'REPLACE_WITH_ATTESTO_API_KEY';

// A complete ARN ends in the six random characters Secrets Manager appends to the name.
const COMPLETE_ARN = /:secret:.+-[A-Za-z0-9]{6}$/;

interface OneSecret {
  id: string;
  existingArn: string | undefined;
  description: string;
  placeholder: Record<string, unknown>;
}

export class AttestoSecrets extends Construct {
  readonly apiKey: ISecret;
  readonly webhookSecrets: ISecret;
  /** Which of the two this stack created (the others were imported by ARN). */
  readonly created: AttestoSecretKey[] = [];

  constructor(scope: Construct, id: string, props: AttestoSecretsProps) {
    super(scope, id);
    this.apiKey = this.secret(
      'attestoApiKey',
      {
        id: 'ApiKey',
        existingArn: props.existingApiKeySecretArn,
        description:
          'iap-backend Attesto API key, read by verify, restore and the webhook consumer. Replace the value with ' +
          '{"attestoApiKey":"attesto_live_…"} (aws secretsmanager put-secret-value). Functions re-read it within 5 minutes.',
        placeholder: { attestoApiKey: SECRET_PLACEHOLDER_API_KEY },
      },
      props.removalPolicy,
    );
    this.webhookSecrets = this.secret(
      'attestoWebhookSecrets',
      {
        id: 'WebhookSecrets',
        existingArn: props.existingWebhookSecretsArn,
        description:
          'iap-backend Attesto webhook signing secrets, read by the webhook function only. Replace the value with ' +
          '{"webhookSecrets":["<current webhook secret>","<previous, during rotation>"]} (aws secretsmanager ' +
          'put-secret-value). Functions re-read it within 5 minutes.',
        placeholder: { webhookSecrets: [] },
      },
      props.removalPolicy,
    );
  }

  get byKey(): Record<AttestoSecretKey, ISecret> {
    return { attestoApiKey: this.apiKey, attestoWebhookSecrets: this.webhookSecrets };
  }

  private secret(key: AttestoSecretKey, spec: OneSecret, removalPolicy: RemovalPolicy): ISecret {
    const scope = new Construct(this, spec.id);
    if (spec.existingArn) {
      return COMPLETE_ARN.test(spec.existingArn)
        ? Secret.fromSecretCompleteArn(scope, 'Imported', spec.existingArn)
        : Secret.fromSecretPartialArn(scope, 'Imported', spec.existingArn);
    }
    this.created.push(key);
    const secret = new Secret(scope, 'Secret', {
      description: spec.description,
      generateSecretString: {
        secretStringTemplate: JSON.stringify(spec.placeholder),
        generateStringKey: 'placeholder',
        excludePunctuation: true,
      },
      removalPolicy,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The values are issued by Attesto, so Secrets Manager cannot rotate them; rotation is manual and lossless because two webhook secrets are accepted at once and functions re-read the key within minutes.',
    });
    return secret;
  }
}
