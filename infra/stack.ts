/**
 * The stack `npx cdk deploy` creates: the Flotilla construct and the outputs an operator needs
 * (the API's URL, the roles to grant EKS access to, the connector role).
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Flotilla, type FlotillaProps } from './flotilla.ts';

/** Properties of the Flotilla stack: the stack's own, and the construct's. */
export interface FlotillaStackProps extends StackProps {
  /** Passed to the construct. @default {} */
  readonly flotilla?: FlotillaProps;
}

/** One Flotilla control plane per stack. */
export class FlotillaStack extends Stack {
  readonly flotilla: Flotilla;

  constructor(scope: Construct, id: string, props: FlotillaStackProps = {}) {
    super(scope, id, props);
    this.flotilla = new Flotilla(this, 'Flotilla', props.flotilla ?? {});
    const f = this.flotilla;
    new CfnOutput(this, 'ApiUrl', {
      value: f.api.apiEndpoint,
      description: 'Flotilla API (flotilla --api URL)',
    });
    new CfnOutput(this, 'StepRoleArn', {
      value: f.roles.step.roleArn,
      description: 'Reaches clusters during workflows: give it an EKS access entry on each EKS cluster',
    });
    new CfnOutput(this, 'ApiRoleArn', {
      value: f.roles.api.roleArn,
      description: 'Reaches clusters when registering them: give it an EKS access entry too',
    });
    if (f.connectorRole) {
      new CfnOutput(this, 'ConnectorRoleArn', {
        value: f.connectorRole.roleArn,
        description: 'The role EKS Connector agents assume (the default of clusters connect)',
      });
    }
    new CfnOutput(this, 'TableName', { value: f.table.tableName });
    new CfnOutput(this, 'EventBusName', { value: f.bus.eventBusName });
    if (f.userPool) new CfnOutput(this, 'UserPoolId', { value: f.userPool.userPoolId });
  }
}
