// Attesto credentials: the API key and the webhook signing secrets, one JSON secret. Either an
// existing secret (by ARN) or one created here with a placeholder value that fails closed: the
// placeholder key is rejected by Attesto and an empty webhookSecrets list accepts no webhook.
import { type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface AttestoSecretProps {
  existingSecretArn?: string;
  removalPolicy: RemovalPolicy;
}

const SECRET_PLACEHOLDER_API_KEY = 'REPLACE_WITH_ATTESTO_API_KEY';

// A complete ARN ends in the six random characters Secrets Manager appends to the name.
const COMPLETE_ARN = /:secret:.+-[A-Za-z0-9]{6}$/;

export class AttestoSecret extends Construct {
  readonly secret: ISecret;
  readonly created: boolean;

  constructor(scope: Construct, id: string, props: AttestoSecretProps) {
    super(scope, id);
    if (props.existingSecretArn) {
      this.created = false;
      this.secret = COMPLETE_ARN.test(props.existingSecretArn)
        ? Secret.fromSecretCompleteArn(this, 'Imported', props.existingSecretArn)
        : Secret.fromSecretPartialArn(this, 'Imported', props.existingSecretArn);
      return;
    }
    this.created = true;
    const secret = new Secret(this, 'Secret', {
      description:
        'iap-backend Attesto credentials. Replace the whole value with ' +
        '{"attestoApiKey":"attesto_live_…","webhookSecrets":["<current webhook secret>","<previous, during rotation>"]} ' +
        '(aws secretsmanager put-secret-value). Functions re-read it within 5 minutes.',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({
          attestoApiKey: SECRET_PLACEHOLDER_API_KEY,
          webhookSecrets: [],
        }),
        generateStringKey: 'placeholder',
        excludePunctuation: true,
      },
      removalPolicy: props.removalPolicy,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The values are issued by Attesto, so Secrets Manager cannot rotate them; rotation is manual and lossless because two webhook secrets are accepted at once.',
    });
    this.secret = secret;
  }
}
