/**
 * `new Flotilla(scope, id, props)`: everything Flotilla needs in one AWS account and region —
 * the DynamoDB table, the blob bucket, the event bus, one Lambda function per handler, one
 * state machine per workflow file, the schedules, the HTTP API with its auth, and the IAM role
 * an EKS Connector registration needs — with least-privilege grants between them.
 *
 * It is driven by the code (infra/handlers.ts): a workflow, step handler or API route added to
 * statemachines/substitutions.ts or functions/api/route-groups.ts appears here without edits.
 */
import { KubectlV36Layer } from '@aws-cdk/lambda-layer-kubectl-v36';
import { ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as iot from 'aws-cdk-lib/aws-iot';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { thingPrefixOf } from '../adapters/agent/iot-identities.ts';
import { FLOTILLA_TABLE, type KeyAttribute } from '../adapters/dynamodb/table.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../adapters/lambda/powertools.ts';
import { TENANT_READABLE_PLATFORM_PARTITIONS, tenantPartitionPrefix } from '../adapters/store/keys.ts';
import { TENANT_SESSION_TAG } from '../adapters/sts/tenant-sessions.ts';
import { PLATFORM_TENANT } from '../domain/access.ts';
import { AGENT_TOPIC_KINDS } from '../domain/agent.ts';
import { EVENT_SOURCE } from '../domain/events.ts';
import { dns1123LabelProblem } from '../domain/names.ts';
import type { DefinedWorkflow, SubstitutionKey } from '../statemachines/substitutions.ts';
import {
  AGENT_MESSAGE_ENTRY,
  AGENT_SWEEP_ENTRY,
  type HandlerKind,
  type HandlerSpec,
  handlerCatalogue,
  PLACEMENT_TARGET_ENTRY,
  PROJECT_ROOT,
  SCHEDULE_TARGET_ENTRY,
  type WorkflowSpec,
  workflowCatalogue,
} from './handlers.ts';

/** How API callers authenticate. */
export type ApiAuthMode = 'iam' | 'cognito';

/** Stage throttling of the HTTP API. */
export interface ApiThrottle {
  /** Steady requests per second across the API. */
  readonly rateLimit: number;
  /** Requests allowed in a burst. */
  readonly burstLimit: number;
}

/** Properties of the Flotilla construct. */
export interface FlotillaProps {
  /**
   * AWS regions discovery lists EKS clusters in.
   * @default the stack's region
   */
  readonly discoveryRegions?: readonly string[];
  /**
   * When discovery runs; `null` for never (run it on demand).
   * @default every hour
   */
  readonly discoverySchedule?: scheduler.ScheduleExpression | null;
  /**
   * More workflows to start on a schedule, by workflow name. A scheduled run gets only
   * `{ "tenant": "_platform" }` (the platform's) as input, so the workflow must name its own execution record from
   * the run, as discovery does. (Drift scans and maintenance are scheduled per deployment at run
   * time instead: `flotilla schedules create`, through EventBridge Scheduler in the stack's
   * schedule group.)
   * @default none
   */
  readonly workflowSchedules?: Readonly<Record<string, scheduler.ScheduleExpression>>;
  /**
   * How API callers authenticate: `iam` (SigV4 signed with IAM credentials; grant
   * `execute-api:Invoke` to who may call) or `cognito` (a JWT from a Cognito user pool).
   * @default 'iam'
   */
  readonly apiAuth?: ApiAuthMode;
  /**
   * The user pool whose tokens the API accepts, in `cognito` mode.
   * @default a new user pool (no self sign-up, MFA required)
   */
  readonly userPool?: cognito.IUserPool;
  /**
   * App clients of `userPool` whose tokens are accepted, in `cognito` mode.
   * @default a new public client (SRP auth) of the pool
   */
  readonly userPoolClients?: readonly cognito.IUserPoolClient[];
  /**
   * Stage throttling of the API.
   * @default 50 requests per second, bursts of 100
   */
  readonly throttle?: ApiThrottle;
  /**
   * How long function, workflow and API access logs are kept.
   * @default one month
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the table, the bucket and the log groups when the stack is deleted.
   * `RETAIN` also turns on the table's deletion protection.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Days a finished execution (and its per-cluster results) is kept before DynamoDB's TTL
   * deletes it.
   * @default 90
   */
  readonly executionRetentionDays?: number;
  /**
   * A customer-managed KMS key for the table, the bucket and the cluster credentials in
   * Secrets Manager.
   * @default AWS-managed keys
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Prefix of the Secrets Manager names Flotilla keeps secrets under (cluster credentials,
   * approval tokens, bundle signing keys); the functions may touch only secrets under it, and a
   * tenant's session only those of its tenant (`flotilla/<tenant>/…`, below this prefix unless it
   * is `flotilla`).
   * @default 'flotilla'
   */
  readonly secretsPrefix?: string;
  /**
   * Place the functions that reach clusters in this VPC (for private API endpoints). The VPC
   * then needs a route to AWS APIs: a NAT gateway, or endpoints for DynamoDB, S3, Secrets
   * Manager, STS, Step Functions and EventBridge.
   * @default no VPC
   */
  readonly vpc?: ec2.IVpc;
  /** Subnets of `vpc`. @default private subnets with egress */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Security groups of the functions in `vpc`. @default one created by Lambda */
  readonly securityGroups?: readonly ec2.ISecurityGroup[];
  /**
   * Memory of every function, in MiB (CPU scales with it).
   * @default 1024
   */
  readonly memorySize?: number;
  /** Clusters per ApplyBatch invocation. @default the code's default (25) */
  readonly batchSize?: number;
  /** Default fleet-wide bound of clusters applied at once. @default the code's default (50) */
  readonly maxParallel?: number;
  /**
   * Roles in other accounts the functions may assume to reach EKS clusters there
   * (`auth.roleArn` of a cluster record).
   * @default none
   */
  readonly assumableRoleArns?: readonly string[];
  /**
   * Create the IAM role EKS Connector agents use; `false` when the account has one already
   * (then pass its ARN in each connect request).
   * @default true
   */
  readonly connectorRole?: boolean;
  /**
   * Prefix of the state machine names (`<prefix>-deploy`, …); names are fixed so the functions
   * can know the ARNs without a reference cycle.
   * @default the stack name
   */
  readonly namePrefix?: string;
  /**
   * How long the event bus archive keeps Flotilla's events (for replay).
   * @default 30 days
   */
  readonly eventArchiveRetention?: Duration;
  /**
   * The agent channel on AWS IoT Core (clusters reached only through an agent next to them), or
   * `false` for none: agents then cannot enrol.
   * @default the channel with the defaults of {@link AgentChannelProps}
   */
  readonly agents?: AgentChannelProps | false;
}

/** The agent channel on AWS IoT Core. */
export interface AgentChannelProps {
  /**
   * How often agents send a heartbeat (told to each agent with its identity). Each heartbeat is
   * a billed IoT message, rule, Lambda invocation and store write: see the README's agent cost.
   * @default 5 minutes
   */
  readonly heartbeat?: Duration;
  /** Silence after which an agent's clusters are marked Unreachable. @default 3 heartbeats */
  readonly darkAfter?: Duration;
  /** When the agents' sweep (dark clusters, rotated-out certificates) runs. @default every 5 minutes */
  readonly sweepSchedule?: scheduler.ScheduleExpression;
  /** Route throttling of the agent-facing routes (`/agent/bootstrap`, `/agent/rotate`). @default 10 requests/s, bursts of 20 */
  readonly throttle?: ApiThrottle;
  /**
   * The account's IoT data endpoint (`aws iot describe-endpoint --endpoint-type iot:Data-ATS`).
   * @default looked up at deployment (a custom resource calling iot:DescribeEndpoint)
   */
  readonly iotEndpoint?: string;
  /** Port agents connect to: 443 (ALPN `x-amzn-mqtt-ca`, through HTTPS-only firewalls) or 8883. @default 443 */
  readonly port?: 443 | 8883;
}

/** What agents may publish on (each a topic rule into the agent-message function). */
export const AGENT_INBOUND_KINDS = AGENT_TOPIC_KINDS.filter((k) => k !== 'work');

/** One deployed function and what it stands for. */
export interface FlotillaFunction {
  readonly spec: HandlerSpec;
  readonly function: nodejs.NodejsFunction;
  readonly logGroup: logs.LogGroup;
}

/** What writing a secret of Flotilla's own takes (credentials from the API, approval tokens from steps). */
const SECRET_WRITE_ACTIONS = [
  'secretsmanager:CreateSecret',
  'secretsmanager:PutSecretValue',
  'secretsmanager:DeleteSecret',
  'secretsmanager:RestoreSecret',
  'secretsmanager:TagResource',
] as const;

/** The id CDK gives the provider function of every AwsCustomResource (aws-cdk-lib custom-resources). */
const AWS_CUSTOM_RESOURCE_UUID = '679f53fa-c002-430c-b0da-5b7982bd2287';

/** Tenant of the construct's own scheduled runs (discovery, `workflowSchedules`): the platform's. */
const SCHEDULED_TENANT = PLATFORM_TENANT;

/** The tenant of a tenant data role session, as its policies read it. */
const SESSION_TENANT = `\${aws:PrincipalTag/${TENANT_SESSION_TAG}}`;

/** What a tenant's session may do to the items of its own partitions. */
const TENANT_ITEM_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
] as const;

/** What a tenant's session may do to the platform partitions it sees clusters through. */
const PLATFORM_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'] as const;

/**
 * Where the secret names Flotilla gives (`flotilla/<tenant>/…`) end up under a prefix: as they
 * are when the prefix is `flotilla`, below it otherwise (adapters/secrets SecretsManagerSecretStore.nameOf).
 */
export function secretsBaseOf(secretsPrefix: string): string {
  const prefix = secretsPrefix.replace(/\/+$/, '');
  return 'flotilla/'.startsWith(`${prefix}/`) ? 'flotilla' : `${prefix}/flotilla`;
}

/** The environment variable holding a workflow's state machine ARN (`drift-scan` → `FLOTILLA_DRIFT_SCAN_STATE_MACHINE`). */
export function stateMachineVariable(workflow: string): string {
  return `FLOTILLA_${workflow.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_STATE_MACHINE`;
}

function attributeType(key: KeyAttribute): dynamodb.AttributeType {
  switch (key.type) {
    case 'S':
      return dynamodb.AttributeType.STRING;
    case 'N':
      return dynamodb.AttributeType.NUMBER;
    case 'B':
      return dynamodb.AttributeType.BINARY;
  }
}

/**
 * The EventBridge pattern of one tenant's events on Flotilla's bus: every Flotilla event carries
 * the tenant it belongs to in `detail.tenant` (domain/events.ts). A rule with this pattern sees
 * that tenant's events and no other's.
 */
export function tenantEventPattern(tenant: string): events.EventPattern {
  return { source: [EVENT_SOURCE], detail: { tenant: [tenant] } };
}

/**
 * A resource as cdk-nag names it in a finding (`<Logical.Attr>` for attributes, `<AWS::Region>`
 * for pseudo parameters), so an acknowledgement can name exactly the wildcard it accepts.
 */
export function nagResourceName(scope: Construct, value: string): string {
  const render = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (typeof v === 'object' && v !== null) {
      const o = v as Record<string, unknown>;
      if (typeof o.Ref === 'string') return `<${o.Ref}>`;
      const getAtt = o['Fn::GetAtt'];
      if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
      const join = o['Fn::Join'];
      if (Array.isArray(join)) return (join[1] as unknown[]).map(render).join(String(join[0]));
    }
    return JSON.stringify(v);
  };
  // cdk-nag writes IAM policy variables (`${aws:PrincipalTag/…}`) as `<aws:PrincipalTag/…>`.
  return render(Stack.of(scope).resolve(value)).replace(/\$\{([^}]+)\}/g, '<$1>');
}

/** Accept cdk-nag's wildcard finding for `resource` on `scope`, saying why. */
function acknowledgeWildcard(scope: Construct, resource: string, reason: string): void {
  Validations.of(scope).acknowledge({
    id: `AwsSolutions::AwsSolutions-IAM5[Resource::${nagResourceName(scope, resource)}]`,
    reason,
  });
}

/** The Flotilla control plane on AWS. */
export class Flotilla extends Construct {
  readonly table: dynamodb.Table;
  readonly bucket: s3.Bucket;
  readonly bus: events.EventBus;
  readonly api: apigw.HttpApi;
  /** Every function, by handler entry (`functions/steps/plan-deploy.ts`). */
  readonly functions: ReadonlyMap<string, FlotillaFunction>;
  /** Every state machine, by workflow. */
  readonly stateMachines: ReadonlyMap<DefinedWorkflow, sfn.StateMachine>;
  /** The role of each kind of function (`step` functions reach clusters: grant it EKS access). */
  readonly roles: Readonly<Record<HandlerKind, iam.Role>>;
  /**
   * The role the API and step functions act for one tenant with: assumed with the session tag
   * `flotilla:tenant`, it reaches only the table items whose partition key starts with
   * `T#<tenant>#` (and reads the clusters, cluster sets and tenants), and the secrets under the
   * tenant's prefix.
   */
  readonly tenantDataRole: iam.Role;
  /** The role EKS Connector agents assume, when created. */
  readonly connectorRole?: iam.Role;
  /** The Cognito user pool of the API, in `cognito` mode. */
  readonly userPool?: cognito.IUserPool;
  /** The role EventBridge Scheduler uses to fire user schedules, when a schedule target exists. */
  readonly schedulerRole?: iam.Role;
  /** The group user schedules are created in, when a schedule target exists. */
  readonly scheduleGroup?: scheduler.ScheduleGroup;
  /** The environment every function gets (what adapters/wiring.ts reads). */
  readonly environment: Readonly<Record<string, string>>;
  /** The IoT policy agents' certificates are attached to, with the channel. */
  readonly agentPolicy?: iot.CfnPolicy;
  /** The topic rules taking in what agents publish, by topic kind, with the channel. */
  readonly agentRules?: ReadonlyMap<string, iot.CfnTopicRule>;
  /** The agent channel's settings, resolved. */
  readonly #agents?: {
    readonly props: AgentChannelProps;
    readonly thingPrefix: string;
    readonly endpoint: string;
    readonly policy: iot.CfnPolicy;
  };

  readonly #props: FlotillaProps;
  readonly #removalPolicy: RemovalPolicy;
  readonly #stateMachineArns = new Map<DefinedWorkflow, string>();
  readonly #stateMachineNames = new Map<DefinedWorkflow, string>();
  /** The fixed name and ARN of the function user schedules invoke. */
  #scheduleTarget?: { readonly name: string; readonly arn: string };
  /** The fixed name and ARN of the placement-failover function (events and one-time re-checks). */
  #placementTarget?: { readonly name: string; readonly arn: string };

  constructor(scope: Construct, id: string, props: FlotillaProps = {}) {
    super(scope, id);
    this.#props = props;
    this.#removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const stack = Stack.of(this);
    const key = props.encryptionKey;

    // ---- State: table, blobs, events -----------------------------------------------------
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: {
        name: FLOTILLA_TABLE.partitionKey.name,
        type: attributeType(FLOTILLA_TABLE.partitionKey),
      },
      sortKey: { name: FLOTILLA_TABLE.sortKey.name, type: attributeType(FLOTILLA_TABLE.sortKey) },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: FLOTILLA_TABLE.pointInTimeRecovery },
      encryption: key ? dynamodb.TableEncryption.CUSTOMER_MANAGED : dynamodb.TableEncryption.AWS_MANAGED,
      ...(key ? { encryptionKey: key } : {}),
      timeToLiveAttribute: FLOTILLA_TABLE.timeToLiveAttribute,
      deletionProtection: this.#removalPolicy !== RemovalPolicy.DESTROY,
      removalPolicy: this.#removalPolicy,
    });
    for (const index of FLOTILLA_TABLE.globalSecondaryIndexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey.name, type: attributeType(index.partitionKey) },
        sortKey: { name: index.sortKey.name, type: attributeType(index.sortKey) },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }

    this.bucket = new s3.Bucket(this, 'Blobs', {
      encryption: key ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
      ...(key ? { encryptionKey: key, bucketKeyEnabled: true } : {}),
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy: this.#removalPolicy,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions::AwsSolutions-S1',
      reason:
        'Only Flotilla functions read and write this bucket (content-addressed chart archives and rendered manifests); ' +
        'turn on CloudTrail S3 data events for an access trail instead of a second logging bucket.',
    });

    this.bus = new events.EventBus(this, 'Bus', {
      description: 'Flotilla events (source "flotilla"): deployments, waves, targets, drift, clusters',
    });
    new events.Archive(this, 'Archive', {
      sourceEventBus: this.bus,
      eventPattern: { source: [EVENT_SOURCE] },
      retention: props.eventArchiveRetention ?? Duration.days(30),
      description: 'Flotilla events, kept for replay',
    });

    // ---- Names known up front (functions and state machines refer to each other) ---------
    const prefix = props.namePrefix ?? stack.stackName;
    const workflows = workflowCatalogue();
    for (const { workflow } of workflows) {
      const name = `${prefix}-${workflow}`.slice(0, 80);
      this.#stateMachineNames.set(workflow, name);
      this.#stateMachineArns.set(
        workflow,
        stack.formatArn({
          service: 'states',
          resource: 'stateMachine',
          resourceName: name,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      );
    }

    // ---- The connector agent role --------------------------------------------------------
    if (props.connectorRole ?? true) this.connectorRole = this.#connectorAgentRole();

    // ---- User schedules (EventBridge Scheduler → the schedule-fire function) ----------------
    const catalogue = handlerCatalogue();
    if (catalogue.some((h) => h.entry === SCHEDULE_TARGET_ENTRY)) {
      const name = `${prefix}-schedule-fire`.slice(0, 64);
      const arn = stack.formatArn({
        service: 'lambda',
        resource: 'function',
        resourceName: name,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      this.#scheduleTarget = { name, arn };
      const placementName = `${prefix}-placement-failover`.slice(0, 64);
      const placementArn = catalogue.some((h) => h.entry === PLACEMENT_TARGET_ENTRY)
        ? stack.formatArn({
            service: 'lambda',
            resource: 'function',
            resourceName: placementName,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          })
        : undefined;
      if (placementArn) this.#placementTarget = { name: placementName, arn: placementArn };
      this.scheduleGroup = new scheduler.ScheduleGroup(this, 'ScheduleGroup', {
        scheduleGroupName: prefix.replace(/[^0-9A-Za-z_.-]/g, '-').slice(0, 64),
        removalPolicy: this.#removalPolicy,
      });
      this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
        assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
        description: 'Assumed by EventBridge Scheduler to fire Flotilla schedules',
        inlinePolicies: {
          FireSchedules: new iam.PolicyDocument({
            statements: [
              new iam.PolicyStatement({
                actions: ['lambda:InvokeFunction'],
                resources: [arn, ...(this.#placementTarget ? [this.#placementTarget.arn] : [])],
              }),
            ],
          }),
        },
      });
    }

    // ---- The API (its URL is in the functions' environment: agents are told it) -------------
    const auth = this.#authorizer();
    this.userPool = auth.userPool;
    this.api = new apigw.HttpApi(this, 'Api', {
      description: 'Flotilla API',
      createDefaultStage: false,
      defaultAuthorizer: auth.authorizer,
    });

    // ---- The agent channel: AWS IoT Core -------------------------------------------------
    if (props.agents !== false) {
      const agentProps = props.agents ?? {};
      // Thing names are fixed by the code, so the prefix must be known at synthesis.
      const thingPrefix = thingPrefixOf(Token.isUnresolved(prefix) ? 'flotilla' : prefix);
      const policy = this.#agentPolicy();
      this.agentPolicy = policy;
      this.#agents = {
        props: agentProps,
        thingPrefix,
        endpoint: agentProps.iotEndpoint ?? this.#iotEndpoint(),
        policy,
      };
    }

    // ---- Functions -----------------------------------------------------------------------
    const environment = this.#environment();
    this.roles = {
      api: this.#functionRole('ApiRole', 'Flotilla API functions'),
      step: this.#functionRole('StepRole', 'Flotilla workflow step functions (deploy, drift, maintenance)'),
      discovery: this.#functionRole('DiscoveryRole', 'Flotilla discovery step functions'),
      agent: this.#functionRole(
        'AgentRole',
        'Flotilla functions taking in what agents send, and the agent sweep',
      ),
    };
    this.tenantDataRole = this.#tenantDataRole();
    this.environment = { ...environment, FLOTILLA_TENANT_DATA_ROLE_ARN: this.tenantDataRole.roleArn };
    const helmLayer = catalogue.some((h) => h.helm)
      ? new KubectlV36Layer(this, 'KubectlHelmLayer')
      : undefined;
    const functions = new Map<string, FlotillaFunction>();
    for (const spec of catalogue) functions.set(spec.entry, this.#function(spec, helmLayer));
    this.functions = functions;
    this.#grant();

    // ---- Placement failover: the events that start a look, to its function -----------------
    const placement = functions.get(PLACEMENT_TARGET_ENTRY)?.function;
    if (placement) {
      new events.Rule(this, 'PlacementRule', {
        eventBus: this.bus,
        description: 'Flotilla: clusters reported unreachable and runs that ended, to placement failover',
        eventPattern: {
          source: [EVENT_SOURCE],
          detailType: ['ClusterUnreachable', 'DeploymentSucceeded', 'DeploymentFailed'],
        },
        targets: [new eventTargets.LambdaFunction(placement, { retryAttempts: 2 })],
      });
    }

    // ---- Workflows -----------------------------------------------------------------------
    const byKey = new Map<SubstitutionKey, nodejs.NodejsFunction>();
    for (const { spec, function: fn } of functions.values()) for (const k of spec.keys) byKey.set(k, fn);
    const machines = new Map<DefinedWorkflow, sfn.StateMachine>();
    for (const workflow of workflows) machines.set(workflow.workflow, this.#stateMachine(workflow, byKey));
    this.stateMachines = machines;

    // ---- Schedules -----------------------------------------------------------------------
    const schedules: Record<string, scheduler.ScheduleExpression | null | undefined> = {
      discovery:
        props.discoverySchedule === undefined
          ? scheduler.ScheduleExpression.rate(Duration.hours(1))
          : props.discoverySchedule,
      ...props.workflowSchedules,
    };
    for (const [workflow, expression] of Object.entries(schedules)) {
      const machine = machines.get(workflow as DefinedWorkflow);
      if (!expression || !machine) continue;
      new scheduler.Schedule(
        this,
        `${workflow.replace(/(^|-)(\w)/g, (_m, _d, c: string) => c.toUpperCase())}Schedule`,
        {
          schedule: expression,
          description: `Flotilla: start the ${workflow} workflow`,
          target: new schedulerTargets.StepFunctionsStartExecution(machine, {
            input: scheduler.ScheduleTargetInput.fromObject({ tenant: SCHEDULED_TENANT }),
            retryAttempts: 2,
          }),
        },
      );
    }

    // ---- Agents: topic rules into agent-message, the sweep on a schedule --------------------
    if (this.#agents) this.agentRules = this.#agentWiring(this.#agents.props);

    // ---- API stage and routes ------------------------------------------------------------
    const accessLogs = this.#logGroup('ApiAccessLogs');
    const throttle = props.throttle ?? { rateLimit: 50, burstLimit: 100 };
    const stage = new apigw.HttpStage(this, 'ApiStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            caller: '$context.identity.caller',
            user: '$context.identity.user',
            jwtSub: '$context.authorizer.claims.sub',
            time: '$context.requestTime',
            method: '$context.httpMethod',
            route: '$context.routeKey',
            status: '$context.status',
            length: '$context.responseLength',
            latency: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    const agentRouteSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> =
      {};
    for (const { spec, function: fn } of functions.values()) {
      if (spec.kind !== 'api') continue;
      if (spec.agentFacing && !this.#agents) continue;
      const integration = new HttpLambdaIntegration(`${spec.id}Integration`, fn);
      for (const route of spec.routes) {
        const routes = this.api.addRoutes({
          path: route.path,
          methods: [apigw.HttpMethod[route.method]],
          integration,
          // Agents hold no AWS credentials or user-pool tokens: the handler checks their own
          // (a one-time bootstrap token, an identity token, a certificate signature).
          ...(spec.agentFacing ? { authorizer: new apigw.HttpNoneAuthorizer() } : {}),
        });
        if (!spec.agentFacing) continue;
        const agentThrottle = this.#agents?.props.throttle ?? { rateLimit: 10, burstLimit: 20 };
        agentRouteSettings[`${route.method} ${route.path}`] = {
          ThrottlingRateLimit: agentThrottle.rateLimit,
          ThrottlingBurstLimit: agentThrottle.burstLimit,
        };
        for (const r of routes) {
          Validations.of(r).acknowledge({
            id: 'AwsSolutions::AwsSolutions-APIG4',
            reason:
              'Agent-facing route: agents have no AWS credentials or user-pool tokens; the handler checks the ' +
              "agent's own credential (one-time bootstrap token, identity token, or IoT certificate signature) " +
              'and the route is throttled harder than the stage.',
          });
        }
      }
    }
    if (Object.keys(agentRouteSettings).length > 0) {
      (stage.node.defaultChild as apigw.CfnStage).routeSettings = agentRouteSettings;
    }
  }

  /**
   * Send one tenant's events, and only those, to an event bus of the tenant's (in this account
   * or another: that bus's resource policy must let this account put events on it). The tenant's
   * consumers subscribe there; they get no access to Flotilla's bus, which has no resource policy
   * (no other account may put rules or events on it), so what a tenant's consumers can see is
   * exactly what this rule forwards. Platform events (`_platform`: discovery, the platform's
   * clusters) are the platform's to route.
   */
  forwardTenantEvents(tenant: string, target: events.IEventBus): events.Rule {
    const problem = tenant === PLATFORM_TENANT ? undefined : dns1123LabelProblem(tenant);
    if (problem) throw new Error(`forwardTenantEvents: tenant ${problem}`);
    const rule = new events.Rule(this, `TenantEvents-${tenant}`, {
      eventBus: this.bus,
      eventPattern: tenantEventPattern(tenant),
      description: `Flotilla: the events of tenant ${tenant}, to its own bus`,
    });
    rule.addTarget(new eventTargets.EventBus(target));
    return rule;
  }

  /** The state machine ARN of a workflow (known before the state machine exists). */
  stateMachineArn(workflow: DefinedWorkflow): string {
    const arn = this.#stateMachineArns.get(workflow);
    if (!arn) throw new Error(`no workflow "${workflow}" in statemachines/`);
    return arn;
  }

  #logGroup(id: string, logGroupName?: string): logs.LogGroup {
    return new logs.LogGroup(this, id, {
      retention: this.#props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: this.#removalPolicy,
      ...(logGroupName ? { logGroupName } : {}),
    });
  }

  #environment(): Record<string, string> {
    const props = this.#props;
    const stack = Stack.of(this);
    const env: Record<string, string> = {
      FLOTILLA_TABLE: this.table.tableName,
      FLOTILLA_BUCKET: this.bucket.bucketName,
      FLOTILLA_EVENT_BUS: this.bus.eventBusName,
      FLOTILLA_SECRETS_PREFIX: props.secretsPrefix ?? 'flotilla',
      FLOTILLA_DISCOVERY_REGIONS: (props.discoveryRegions ?? [stack.region]).join(','),
      FLOTILLA_RETENTION_DAYS: String(props.executionRetentionDays ?? 90),
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    };
    for (const [workflow, arn] of this.#stateMachineArns) env[stateMachineVariable(workflow)] = arn;
    if (props.encryptionKey) env.FLOTILLA_SECRETS_KMS_KEY = props.encryptionKey.keyArn;
    if (this.#scheduleTarget && this.schedulerRole && this.scheduleGroup) {
      env.FLOTILLA_SCHEDULE_GROUP = this.scheduleGroup.scheduleGroupName;
      env.FLOTILLA_SCHEDULE_TARGET_ARN = this.#scheduleTarget.arn;
      env.FLOTILLA_SCHEDULER_ROLE_ARN = this.schedulerRole.roleArn;
      if (this.#placementTarget) env.FLOTILLA_PLACEMENT_TARGET_ARN = this.#placementTarget.arn;
    }
    if (this.connectorRole) env.FLOTILLA_CONNECTOR_ROLE_ARN = this.connectorRole.roleArn;
    if (props.batchSize !== undefined) env.FLOTILLA_BATCH_SIZE = String(props.batchSize);
    if (props.maxParallel !== undefined) env.FLOTILLA_MAX_PARALLEL = String(props.maxParallel);
    const agents = this.#agents;
    if (agents) {
      const heartbeat = agents.props.heartbeat ?? Duration.minutes(5);
      env.FLOTILLA_API_URL = this.api.apiEndpoint;
      env.FLOTILLA_IOT_ENDPOINT = agents.endpoint;
      env.FLOTILLA_IOT_POLICY = agents.policy.ref;
      env.FLOTILLA_IOT_THING_PREFIX = agents.thingPrefix;
      env.FLOTILLA_IOT_PORT = String(agents.props.port ?? 443);
      env.FLOTILLA_AGENT_HEARTBEAT_SECONDS = String(heartbeat.toSeconds());
      env.FLOTILLA_AGENT_DARK_AFTER_SECONDS = String(
        (agents.props.darkAfter ?? Duration.seconds(3 * heartbeat.toSeconds())).toSeconds(),
      );
    }
    return env;
  }

  /**
   * The IoT policy every agent certificate is attached to. Its policy variables make one policy
   * serve every agent, each only as itself: it may connect only with the client id of the thing
   * its certificate is attached to, and the thing's `tenant` and `agent` attributes (set by
   * Flotilla when it made the thing) decide its topics — subscribe to and receive its own `work`,
   * publish its own `reports`, `drift`, `heartbeat` and `sync`, nothing else.
   */
  #agentPolicy(): iot.CfnPolicy {
    const stack = Stack.of(this);
    const arn = (resource: string) =>
      `arn:${stack.partition}:iot:${stack.region}:${stack.account}:${resource}`;
    const own = (kind: string) =>
      `flotilla/\${iot:Connection.Thing.Attributes[tenant]}/agents/\${iot:Connection.Thing.Attributes[agent]}/${kind}`;
    const attached = { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } };
    return new iot.CfnPolicy(this, 'AgentPolicy', {
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'ConnectAsItsOwnThing',
            Effect: 'Allow',
            Action: 'iot:Connect',
            Resource: arn('client/${iot:Connection.Thing.ThingName}'),
            Condition: attached,
          },
          {
            Sid: 'SubscribeToItsOwnWork',
            Effect: 'Allow',
            Action: 'iot:Subscribe',
            Resource: arn(`topicfilter/${own('work')}`),
            Condition: attached,
          },
          {
            Sid: 'ReceiveItsOwnWork',
            Effect: 'Allow',
            Action: 'iot:Receive',
            Resource: arn(`topic/${own('work')}`),
            Condition: attached,
          },
          {
            Sid: 'PublishItsOwnReports',
            Effect: 'Allow',
            Action: 'iot:Publish',
            Resource: AGENT_INBOUND_KINDS.map((kind) => arn(`topic/${own(kind)}`)),
            Condition: attached,
          },
        ],
      },
    });
  }

  /** The account's IoT data endpoint, looked up once at deployment. */
  #iotEndpoint(): string {
    const lookup = new cr.AwsCustomResource(this, 'IotEndpoint', {
      onUpdate: {
        service: 'Iot',
        action: 'describeEndpoint',
        parameters: { endpointType: 'iot:Data-ATS' },
        physicalResourceId: cr.PhysicalResourceId.fromResponse('endpointAddress'),
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['iot:DescribeEndpoint'], resources: ['*'] }),
      ]),
      installLatestAwsSdk: false,
    });
    acknowledgeWildcard(
      lookup,
      '*',
      'iot:DescribeEndpoint has no resource type: AWS requires * (called once at deployment for the data endpoint).',
    );
    // The custom resource's own function (one per stack, made by CDK) logs with the basic role.
    const provider = Stack.of(this).node.tryFindChild(`AWS${AWS_CUSTOM_RESOURCE_UUID.replace(/-/g, '')}`);
    if (provider) {
      Validations.of(provider).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          "CDK's AwsCustomResource provider function (it looks up the IoT data endpoint once, at deployment) logs with AWS's basic execution role.",
      });
    }
    return lookup.getResponseField('endpointAddress');
  }

  /**
   * What connects the channel to Flotilla: one topic rule per kind of message agents publish
   * (each message matches exactly one rule; the control plane's `work` notices match none),
   * invoking the agent-message function, with failed deliveries logged; and the agents' sweep on
   * a schedule.
   */
  #agentWiring(props: AgentChannelProps): Map<string, iot.CfnTopicRule> {
    const stack = Stack.of(this);
    const rules = new Map<string, iot.CfnTopicRule>();
    const receiver = this.functions.get(AGENT_MESSAGE_ENTRY)?.function;
    const sweeper = this.functions.get(AGENT_SWEEP_ENTRY)?.function;
    if (!receiver || !sweeper)
      throw new Error(`${AGENT_MESSAGE_ENTRY} and ${AGENT_SWEEP_ENTRY} are needed for agents`);
    const errors = this.#logGroup('AgentRuleErrors');
    const errorRole = new iam.Role(this, 'AgentRuleErrorRole', {
      assumedBy: new iam.ServicePrincipal('iot.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'Assumed by the Flotilla agent topic rules to log a message they could not deliver',
      inlinePolicies: {
        LogRuleErrors: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              actions: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
              resources: [errors.logGroupArn],
            }),
          ],
        }),
      },
    });
    const rulePrefix = this.node.addr.slice(0, 8);
    for (const kind of AGENT_INBOUND_KINDS) {
      const id = `AgentRule${kind.charAt(0).toUpperCase()}${kind.slice(1)}`;
      const rule = new iot.CfnTopicRule(this, id, {
        ruleName: `flotilla_${rulePrefix}_agent_${kind}`,
        topicRulePayload: {
          description: `Flotilla: what agents publish on their ${kind} topic, to the agent-message function`,
          awsIotSqlVersion: '2016-03-23',
          // The payload stays as sent (base64), beside the topic the tenant and agent are read from.
          sql: `SELECT topic() AS topic, encode(*, 'base64') AS payload FROM 'flotilla/+/agents/+/${kind}'`,
          ruleDisabled: false,
          actions: [{ lambda: { functionArn: receiver.functionArn } }],
          errorAction: {
            cloudwatchLogs: { logGroupName: errors.logGroupName, roleArn: errorRole.roleArn },
          },
        },
      });
      receiver.addPermission(`${id}Invoke`, {
        principal: new iam.ServicePrincipal('iot.amazonaws.com'),
        action: 'lambda:InvokeFunction',
        sourceArn: rule.attrArn,
        sourceAccount: stack.account,
      });
      rules.set(kind, rule);
    }
    const sweepRole = new iam.Role(this, 'AgentSweepScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'Assumed by EventBridge Scheduler to run the Flotilla agent sweep',
    });
    new scheduler.Schedule(this, 'AgentSweepSchedule', {
      schedule: props.sweepSchedule ?? scheduler.ScheduleExpression.rate(Duration.minutes(5)),
      description: 'Flotilla: mark clusters of silent agents Unreachable, retire rotated-out certificates',
      target: new schedulerTargets.LambdaInvoke(sweeper, {
        input: scheduler.ScheduleTargetInput.fromObject({ tenant: SCHEDULED_TENANT }),
        role: sweepRole,
        // The next run comes within minutes and does the same.
        retryAttempts: 0,
      }),
    });
    acknowledgeWildcard(
      sweepRole,
      `${sweeper.functionArn}:*`,
      "The scheduler may invoke the sweep function's versions and aliases (CDK's grantInvoke); that function only.",
    );
    return rules;
  }

  #functionRole(id: string, description: string): iam.Role {
    return new iam.Role(this, id, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description,
    });
  }

  /**
   * The tenant data role. The API and step functions assume it with one session tag,
   * `flotilla:tenant` (a tenant's name: never the platform's, nor any other tag), and its policy
   * reads the tenant from that tag:
   * - the table: every item action but Scan on the items whose partition key (in the table and in
   *   gsi1, `dynamodb:LeadingKeys`) starts with `T#<tenant>#`; reads (GetItem, BatchGetItem,
   *   Query) of the platform partitions of clusters, cluster sets and tenants; nothing else (not
   *   the tokens, no platform writes);
   * - Secrets Manager: the secrets named `<prefix>/<tenant>/…` (flotilla/<tenant>/… by default);
   * - the customer-managed key, when there is one (the table and the secrets are encrypted with it).
   */
  #tenantDataRole(): iam.Role {
    const stack = Stack.of(this);
    const props = this.#props;
    const { api, step } = this.roles;
    const table = this.table.tableArn;
    const indexes = FLOTILLA_TABLE.globalSecondaryIndexes.map((i) => `${table}/index/${i.indexName}`);
    const secrets = stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${secretsBaseOf(props.secretsPrefix ?? 'flotilla')}/${SESSION_TENANT}/*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const statements = [
      new iam.PolicyStatement({
        sid: 'TenantItems',
        actions: [...TENANT_ITEM_ACTIONS],
        resources: [table, ...indexes],
        conditions: {
          'ForAllValues:StringLike': {
            'dynamodb:LeadingKeys': [`${tenantPartitionPrefix(SESSION_TENANT)}*`],
          },
          // ForAllValues holds of an empty set: a request must name its keys.
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      }),
      new iam.PolicyStatement({
        sid: 'ReadPlatformClusters',
        actions: [...PLATFORM_READ_ACTIONS],
        resources: [table],
        conditions: {
          'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [...TENANT_READABLE_PLATFORM_PARTITIONS] },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      }),
      new iam.PolicyStatement({
        sid: 'TenantSecrets',
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret', ...SECRET_WRITE_ACTIONS],
        resources: [secrets],
      }),
    ];
    if (props.encryptionKey) {
      statements.push(
        new iam.PolicyStatement({
          sid: 'UseTheKey',
          actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
          resources: [props.encryptionKey.keyArn],
        }),
      );
    }
    const role = new iam.Role(this, 'TenantDataRole', {
      assumedBy: new iam.PrincipalWithConditions(
        new iam.CompositePrincipal(new iam.ArnPrincipal(api.roleArn), new iam.ArnPrincipal(step.roleArn)),
        {
          // A session names a tenant: one tag, a tenant's name, never the platform's (`_platform`).
          StringLike: { [`aws:RequestTag/${TENANT_SESSION_TAG}`]: '?*' },
          StringNotLike: { [`aws:RequestTag/${TENANT_SESSION_TAG}`]: '_*' },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [TENANT_SESSION_TAG] },
        },
      ).withSessionTags(),
      description: "Assumed by Flotilla functions, tagged with a tenant, to reach only that tenant's data",
      inlinePolicies: { TenantData: new iam.PolicyDocument({ statements }) },
    });
    acknowledgeWildcard(
      role,
      secrets,
      "A tenant's secrets are named per cluster, approval and key at run time; only those under that tenant's own prefix (the session tag).",
    );
    return role;
  }

  /**
   * The role the EKS Connector agent (running in a connected cluster) assumes through SSM: the
   * trust and the inline policy of "Amazon EKS connector IAM role" in the EKS user guide.
   */
  #connectorAgentRole(): iam.Role {
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'ConnectorAgentRole', {
      assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com'),
      description: 'Assumed by EKS Connector agents in clusters connected through Flotilla',
      inlinePolicies: {
        EksConnectorAgent: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'SsmControlChannel',
              actions: ['ssmmessages:CreateControlChannel'],
              resources: [`arn:${stack.partition}:eks:*:${stack.account}:cluster/*`],
            }),
            new iam.PolicyStatement({
              sid: 'SsmDataplaneOperations',
              actions: [
                'ssmmessages:CreateDataChannel',
                'ssmmessages:OpenDataChannel',
                'ssmmessages:OpenControlChannel',
              ],
              // The Session Manager channel actions name no resource of their own.
              resources: ['*'],
            }),
          ],
        }),
      },
    });
    acknowledgeWildcard(
      role,
      '*',
      'The EKS Connector agent opens Session Manager data channels, which have no resource-level permissions (EKS user guide, connector IAM role).',
    );
    acknowledgeWildcard(
      role,
      `arn:${stack.partition}:eks:*:${stack.account}:cluster/*`,
      'The agent serves whichever cluster is connected in this account; that cluster does not exist when the role is made.',
    );
    return role;
  }

  #function(spec: HandlerSpec, helmLayer: lambda.ILayerVersion | undefined): FlotillaFunction {
    const props = this.#props;
    const logGroup = this.#logGroup(`${spec.id}Logs`);
    const reachesClusters = spec.kind === 'api' || spec.kind === 'step';
    const fixedName =
      spec.entry === SCHEDULE_TARGET_ENTRY
        ? this.#scheduleTarget?.name
        : spec.entry === PLACEMENT_TARGET_ENTRY
          ? this.#placementTarget?.name
          : undefined;
    const fn = new nodejs.NodejsFunction(this, spec.id, {
      ...(fixedName ? { functionName: fixedName } : {}),
      entry: `${PROJECT_ROOT}/${spec.entry}`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}/package-lock.json`,
      runtime: lambda.Runtime.NODEJS_24_X,
      // The kubectl/helm layer ships linux/amd64 binaries only: functions running helm are x86_64.
      architecture: spec.helm ? lambda.Architecture.X86_64 : lambda.Architecture.ARM_64,
      ...(spec.helm && helmLayer ? { layers: [helmLayer] } : {}),
      memorySize: props.memorySize ?? 1024,
      timeout: Duration.seconds(spec.timeoutSeconds),
      role: this.roles[spec.kind],
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment: { ...this.environment },
      description: `Flotilla ${spec.kind}: ${spec.entry}`,
      ...(reachesClusters && props.vpc
        ? {
            vpc: props.vpc,
            ...(props.vpcSubnets ? { vpcSubnets: props.vpcSubnets } : {}),
            ...(props.securityGroups ? { securityGroups: [...props.securityGroups] } : {}),
          }
        : {}),
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node24',
        platform: 'node',
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        // Mappings only: stack traces point at file:line without shipping the sources a second
        // time (a source map with contents is ~10 MB per function, without ~3.6 MB).
        sourcesContent: false,
        // Bundle the AWS SDK too: the code is tested against the versions in package-lock.json.
        bundleAwsSDK: true,
        externalModules: [],
        // Some dependencies are CommonJS and call require(): give the ESM bundle one.
        banner:
          "import { createRequire as __flotillaRequire } from 'node:module'; const require = __flotillaRequire(import.meta.url);",
        forceDockerBundling: false,
      },
    });
    return { spec, function: fn, logGroup };
  }

  /** Least privilege per kind of function; every resource is Flotilla's own. */
  #grant(): void {
    const stack = Stack.of(this);
    const props = this.#props;
    const key = props.encryptionKey;
    const { api, step, discovery, agent } = this.roles;
    // Customer-managed policies, one per role and kind of access: a role's inline policies share
    // one 10,240-character budget, which the log groups and state machines alone would fill.
    const policies = new Map<string, iam.ManagedPolicy>();
    const policyOf = (role: iam.Role, statement: iam.PolicyStatement): iam.ManagedPolicy => {
      const service = statement.actions[0]?.split(':')[0] ?? '';
      const group =
        service === 'logs'
          ? 'Logs'
          : ['states', 'scheduler'].includes(service)
            ? 'Workflows'
            : ['eks', 'iam', 'sts'].includes(service)
              ? 'Aws'
              : service === 'iot'
                ? 'Agents'
                : 'Data';
      const id = `${role.node.id}${group}Policy`;
      let policy = policies.get(id);
      if (!policy) {
        policy = new iam.ManagedPolicy(this, id, {
          roles: [role],
          description: `Flotilla ${role.node.id}: ${group.toLowerCase()}`,
        });
        policies.set(id, policy);
      }
      return policy;
    };
    const add = (roles: iam.Role[], statement: iam.PolicyStatement, wildcardReason?: string) => {
      for (const role of roles) {
        const policy = policyOf(role, statement);
        policy.addStatements(statement);
        if (!wildcardReason) continue;
        for (const resource of statement.resources) {
          if (nagResourceName(role, resource).includes('*'))
            acknowledgeWildcard(policy, resource, wildcardReason);
        }
      }
    };
    // Active tracing gives every function role X-Ray's PutTraceSegments/PutTelemetryRecords on *.
    acknowledgeWildcard(
      api,
      '*',
      'X-Ray PutTraceSegments and PutTelemetryRecords (active tracing) have no resource-level permissions.',
    );
    for (const role of [step, discovery, agent]) {
      acknowledgeWildcard(
        role,
        '*',
        'X-Ray PutTraceSegments and PutTelemetryRecords (active tracing) have no resource-level permissions.',
      );
    }

    // Logs: each role writes to the log groups of its own functions only.
    for (const kind of ['api', 'step', 'discovery', 'agent'] as const) {
      const groups = [...this.functions.values()].filter((f) => f.spec.kind === kind).map((f) => f.logGroup);
      if (groups.length === 0) continue;
      add(
        [this.roles[kind]],
        new iam.PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: groups.map((g) => g.logGroupArn),
        }),
      );
    }

    // The table and its index: every function.
    add(
      [api, step, discovery, agent],
      new iam.PolicyStatement({
        actions: [
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
          'dynamodb:Query',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:DescribeTable',
        ],
        resources: [
          this.table.tableArn,
          ...FLOTILLA_TABLE.globalSecondaryIndexes.map((i) => `${this.table.tableArn}/index/${i.indexName}`),
        ],
      }),
    );
    add(
      [api, step, discovery, agent],
      new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [this.bus.eventBusArn] }),
    );

    // Blobs: objects are content-addressed, so their keys are not known in advance.
    const objects = `${this.bucket.bucketArn}/*`;
    // Agents' functions read work and write the API versions agents report; GetObject is also
    // what a presigned content URL is signed with.
    add(
      [api, step, agent],
      new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [objects] }),
      "Blobs are content-addressed: object keys are digests, not known in advance; the bucket is Flotilla's own.",
    );

    // Cluster credentials: only secrets under the prefix; the API stores, steps read.
    const secretsPrefix = props.secretsPrefix ?? 'flotilla';
    const secrets = stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${secretsPrefix}/*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    add(
      [api, step],
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [secrets],
      }),
      `Cluster credentials are secrets named per cluster under "${secretsPrefix}/", created as clusters are registered.`,
    );
    add(
      [api],
      new iam.PolicyStatement({
        actions: [...SECRET_WRITE_ACTIONS],
        resources: [secrets],
      }),
      `Cluster credentials are secrets named per cluster under "${secretsPrefix}/", created as clusters are registered.`,
    );
    // A rollout waiting for an approval keeps its task token as a secret (request-approval), under
    // its tenant's prefix: steps may write those, and only those. (For a tenant the step writes it
    // through the tenant data role; this covers the platform's own runs.)
    const approvals = `${secretsBaseOf(secretsPrefix)}/*/approvals`;
    add(
      [step],
      new iam.PolicyStatement({
        actions: [...SECRET_WRITE_ACTIONS],
        resources: [
          stack.formatArn({
            service: 'secretsmanager',
            resource: 'secret',
            resourceName: `${approvals}/*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
      "Approval task tokens are secrets named per deployment at run time, under each tenant's approvals prefix only.",
    );
    if (key) {
      add(
        [api, step, discovery, agent],
        new iam.PolicyStatement({
          actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
          resources: [key.keyArn],
        }),
      );
    }

    // Acting for a tenant: a session of the tenant data role, tagged with the tenant.
    add(
      [api, step],
      new iam.PolicyStatement({
        actions: ['sts:AssumeRole', 'sts:TagSession'],
        resources: [this.tenantDataRole.roleArn],
      }),
    );

    // Who an IAM (SigV4) caller of the API is: the flotilla:tenant and flotilla:role tags of its
    // role or user (read-only; tags say nothing secret).
    if ((props.apiAuth ?? 'iam') === 'iam') {
      add(
        [api],
        new iam.PolicyStatement({
          actions: ['iam:ListRoleTags', 'iam:ListUserTags'],
          resources: [
            stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: '*' }),
            stack.formatArn({ service: 'iam', region: '', resource: 'user', resourceName: '*' }),
          ],
        }),
        'Any role or user of the account may call the API with SigV4; its tenant and role are read from its own tags, so every principal of the account must be readable (tags only).',
      );
    }

    // Workflows: start, follow and stop Flotilla's own state machines; answer approvals.
    const machines = [...this.#stateMachineArns.values()];
    const executions = [...this.#stateMachineNames.values()].map((name) =>
      stack.formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: `${name}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    add([api, step], new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: machines }));
    add(
      [api, step],
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: executions,
      }),
      "Executions of Flotilla's own state machines, named after execution ids made at run time.",
    );
    // Approvals answer a waiting task from the API; a pause asked for while the approval request
    // is being made is answered by that step itself.
    add(
      [api, step],
      new iam.PolicyStatement({
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
        resources: machines,
      }),
    );

    // Discovery: ListClusters cannot be scoped (it has no resource type); DescribeCluster can.
    add(
      [discovery],
      new iam.PolicyStatement({ actions: ['eks:ListClusters'], resources: ['*'] }),
      'eks:ListClusters has no resource type: AWS requires *.',
    );
    add(
      [discovery],
      new iam.PolicyStatement({
        actions: ['eks:DescribeCluster'],
        resources: [`arn:${stack.partition}:eks:*:${stack.account}:cluster/*`],
      }),
      'Discovery describes whatever clusters ListClusters returns, in any configured region of this account.',
    );

    // Connecting clusters: register and deregister in this account and region.
    const clusters = `arn:${stack.partition}:eks:${stack.region}:${stack.account}:cluster/*`;
    add(
      [api],
      new iam.PolicyStatement({
        actions: ['eks:RegisterCluster', 'eks:DeregisterCluster', 'eks:DescribeCluster', 'eks:TagResource'],
        resources: [clusters],
      }),
      'Connecting registers a new EKS cluster name chosen by the user at run time, in this account and region.',
    );
    if (this.connectorRole) {
      add(
        [api],
        new iam.PolicyStatement({ actions: ['iam:PassRole'], resources: [this.connectorRole.roleArn] }),
      );
    }
    // The first registration in an account creates the connector's service-linked role.
    add(
      [api],
      new iam.PolicyStatement({
        actions: ['iam:CreateServiceLinkedRole'],
        resources: [
          `arn:${stack.partition}:iam::${stack.account}:role/aws-service-role/eks-connector.amazonaws.com/AWSServiceRoleForAmazonEKSConnector`,
        ],
        conditions: { StringEquals: { 'iam:AWSServiceName': 'eks-connector.amazonaws.com' } },
      }),
    );

    // User schedules: manage the schedules of Flotilla's own group, handing them its role. The
    // placement-failover function (a step) creates one-time re-checks in the same group.
    if (this.scheduleGroup && this.schedulerRole) {
      add(
        [api, step],
        new iam.PolicyStatement({
          actions: [
            'scheduler:CreateSchedule',
            'scheduler:UpdateSchedule',
            'scheduler:DeleteSchedule',
            'scheduler:GetSchedule',
          ],
          resources: [
            stack.formatArn({
              service: 'scheduler',
              resource: 'schedule',
              resourceName: `${this.scheduleGroup.scheduleGroupName}/*`,
            }),
          ],
        }),
        "Schedules are named by users at run time; only those of Flotilla's own schedule group.",
      );
      add(
        [api, step],
        new iam.PolicyStatement({
          actions: ['iam:PassRole'],
          resources: [this.schedulerRole.roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
        }),
      );
    }

    if (this.#agents) this.#grantAgents(add);

    // Clusters in other accounts: only the roles named.
    if (props.assumableRoleArns && props.assumableRoleArns.length > 0) {
      add(
        [api, step],
        new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [...props.assumableRoleArns] }),
      );
    }
  }

  /**
   * What the agent channel needs, per role. Steps (issuing work) and the agent functions
   * (answering a sync) publish on agents' `work` topics only. The API makes an agent's thing and
   * certificates (bootstrap, rotation), checks a rotation's signature against the certificate,
   * and on revocation deactivates and detaches them and closes the connection. The sweep retires
   * rotated-out certificates. Things and client ids only under the stack's thing prefix.
   */
  #grantAgents(
    add: (roles: iam.Role[], statement: iam.PolicyStatement, wildcardReason?: string) => void,
  ): void {
    const stack = Stack.of(this);
    const agents = this.#agents;
    if (!agents) return;
    const { api, step, agent } = this.roles;
    const arn = (resource: string) =>
      `arn:${stack.partition}:iot:${stack.region}:${stack.account}:${resource}`;
    const things = arn(`thing/${agents.thingPrefix}_*`);
    const certificates = arn('cert/*');
    const onOwnThings = { ArnLike: { 'iot:thingArn': things } };
    add(
      [step, agent],
      new iam.PolicyStatement({
        actions: ['iot:Publish'],
        resources: [arn('topic/flotilla/*/agents/*/work')],
      }),
      "Work notices go to each agent's own work topic, named by tenant and agent at run time; work topics only.",
    );
    add(
      [api],
      new iam.PolicyStatement({
        actions: ['iot:CreateThing', 'iot:ListThingPrincipals'],
        resources: [things],
      }),
      `Each agent's IoT thing is named at enrolment; only things under the stack's prefix "${agents.thingPrefix}_".`,
    );
    add(
      [api],
      new iam.PolicyStatement({ actions: ['iot:CreateKeysAndCertificate'], resources: ['*'] }),
      'iot:CreateKeysAndCertificate has no resource type: AWS requires *.',
    );
    add(
      [api],
      new iam.PolicyStatement({ actions: ['iot:AttachPolicy'], resources: [certificates] }),
      'Certificates are made per agent at run time (their ids are random); AttachPolicy names the certificate, not the policy, as its resource.',
    );
    add(
      [api, agent],
      new iam.PolicyStatement({
        actions: ['iot:UpdateCertificate', 'iot:DescribeCertificate'],
        resources: [certificates],
      }),
      'Certificates are made per agent at run time (their ids are random): describe (a rotation proof) and deactivate (rotation, revocation).',
    );
    add(
      [api],
      new iam.PolicyStatement({
        actions: ['iot:AttachThingPrincipal', 'iot:DetachThingPrincipal'],
        resources: [certificates],
        conditions: onOwnThings,
      }),
      "Certificates are made per agent at run time; attached to and detached from the stack's own things only (iot:thingArn).",
    );
    add(
      [agent],
      new iam.PolicyStatement({
        actions: ['iot:DetachThingPrincipal'],
        resources: [certificates],
        conditions: onOwnThings,
      }),
      "A rotated-out certificate is detached from the stack's own things only (iot:thingArn).",
    );
    add(
      [api],
      new iam.PolicyStatement({
        actions: ['iot:DeleteConnection'],
        resources: [arn(`client/${agents.thingPrefix}_*`)],
      }),
      `A revoked agent's connection is closed; client ids are its thing's name, under "${agents.thingPrefix}_".`,
    );
  }

  #stateMachine(spec: WorkflowSpec, byKey: ReadonlyMap<SubstitutionKey, lambda.IFunction>): sfn.StateMachine {
    const stack = Stack.of(this);
    const name = this.#stateMachineNames.get(spec.workflow) ?? spec.workflow;
    const id = `${spec.workflow.replace(/(^|-)(\w)/g, (_m, _d, c: string) => c.toUpperCase())}Workflow`;
    const substitutions: Record<string, string> = {};
    const invoked: lambda.IFunction[] = [];
    for (const key of spec.keys) {
      const fn = byKey.get(key);
      if (!fn) throw new Error(`statemachines/${spec.workflow}.asl.json: \${${key}} has no function`);
      substitutions[key] = fn.functionArn;
      invoked.push(fn);
    }
    const machine = new sfn.StateMachine(this, id, {
      stateMachineName: name,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(spec.text),
      definitionSubstitutions: substitutions,
      tracingEnabled: true,
      logs: {
        destination: this.#logGroup(`${id}Logs`, `/aws/vendedlogs/states/${name}`),
        level: sfn.LogLevel.ALL,
        // Workflow payloads hold ids and counts only, but history is where a leak would last
        // longest: keep inputs and outputs out of the logs all the same.
        includeExecutionData: false,
      },
    });
    // Exactly the functions of this workflow, by their unqualified ARNs (as Task states name them).
    machine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: invoked.map((f) => f.functionArn),
      }),
    );
    acknowledgeWildcard(
      machine,
      '*',
      'CloudWatch Logs delivery (CreateLogDelivery, PutResourcePolicy, DescribeLogGroups…) and X-Ray tracing actions have no resource-level permissions; AWS requires *.',
    );
    if (spec.distributedMap) {
      const childExecutions = stack.formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: `${name}/*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      // A Distributed Map runs each item as a child execution of this very state machine.
      machine.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['states:StartExecution'],
          resources: [this.stateMachineArn(spec.workflow)],
        }),
      );
      machine.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['states:DescribeExecution', 'states:StopExecution'],
          resources: [childExecutions],
        }),
      );
      acknowledgeWildcard(
        machine,
        childExecutions,
        'A Distributed Map names its child executions at run time; this covers only the children of this state machine.',
      );
    }
    return machine;
  }

  #authorizer(): { authorizer: apigw.IHttpRouteAuthorizer; userPool?: cognito.IUserPool } {
    const props = this.#props;
    if ((props.apiAuth ?? 'iam') === 'iam') return { authorizer: new HttpIamAuthorizer() };
    const userPool =
      props.userPool ??
      new cognito.UserPool(this, 'UserPool', {
        selfSignUpEnabled: false,
        signInAliases: { email: true, username: true },
        mfa: cognito.Mfa.REQUIRED,
        mfaSecondFactor: { otp: true, sms: false },
        passwordPolicy: {
          minLength: 12,
          requireDigits: true,
          requireLowercase: true,
          requireUppercase: true,
          requireSymbols: true,
        },
        accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
        removalPolicy: this.#removalPolicy,
      });
    if (!props.userPool) {
      Validations.of(userPool).acknowledge({
        id: 'AwsSolutions::AwsSolutions-COG8',
        reason:
          'The Plus feature plan (threat protection) is billed per active user; the pool requires TOTP MFA and admin-created users instead. Pass a pool of your own to choose otherwise.',
      });
    }
    const clients = props.userPoolClients ?? [
      new cognito.UserPoolClient(this, 'UserPoolClient', {
        userPool,
        generateSecret: false,
        authFlows: { userSrp: true },
        preventUserExistenceErrors: true,
      }),
    ];
    return {
      authorizer: new HttpUserPoolAuthorizer('Cognito', userPool, { userPoolClients: [...clients] }),
      userPool,
    };
  }
}
