// Answers "show me your actors" for the admin API and `grange actors`, from the runtime registry.
import { assertNever, defineActor, type ActorInfo, type Ref } from '../runtime';

export interface ActorTreeReport {
  nodeId: string;
  actors: ActorInfo[];
}

export type InspectorMessage = { type: 'inspect'; replyTo: Ref<ActorTreeReport> };

export interface InspectorComponents {
  nodeId: string;
  /** The registry's view of the live tree (ActorSystem.inspect). */
  inspect: () => ActorInfo[];
}

export const inspectorActor = defineActor<InspectorMessage, null, InspectorComponents>({
  kind: 'inspector',
  remote: { accepts: ['inspect'] },
  init: () => null,
  handle(message, context) {
    switch (message.type) {
      case 'inspect': return context.tell(message.replyTo, { nodeId: context.components.nodeId, actors: context.components.inspect() });
      default: return assertNever(message.type);
    }
  },
});
