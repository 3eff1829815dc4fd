import type { AnyStateMachine, AnyStateNode } from 'xstate';

/** Stately's visualiser imports the machine's JSON definition. */
export function machineJson(machine: AnyStateMachine): unknown {
  return machine.toJSON();
}

function eventLabel(eventType: string, guard: unknown): string {
  const base = eventType === '' ? 'always' : eventType.startsWith('xstate.done.actor.') ? `done ${eventType.slice('xstate.done.actor.'.length)}` : eventType;
  const name = typeof guard === 'object' && guard !== null && 'type' in guard ? String((guard as { type: unknown }).type) : typeof guard === 'string' ? guard : undefined;
  return name ? `${base} [${name}]` : base;
}

const nodeName = (node: AnyStateNode) => node.id.replace(/\./g, '__');

/** A Mermaid `stateDiagram-v2` of the machine: compound states nest, invoked effects are noted. */
export function machineMermaid(machine: AnyStateMachine): string {
  const lines = ['stateDiagram-v2'];
  const render = (node: AnyStateNode, indent: string) => {
    const children = Object.values(node.states) as AnyStateNode[];
    if (node.initial?.target?.length) lines.push(`${indent}[*] --> ${nodeName(node.initial.target[0])}`);
    for (const child of children) {
      const label = child.key;
      const grandchildren = Object.values(child.states) as AnyStateNode[];
      if (grandchildren.length > 0) {
        lines.push(`${indent}state "${label}" as ${nodeName(child)} {`);
        render(child, indent + '  ');
        lines.push(`${indent}}`);
      } else {
        lines.push(`${indent}state "${label}" as ${nodeName(child)}`);
        for (const invoke of child.invoke) lines.push(`${indent}${nodeName(child)} : invokes ${invoke.src}`);
      }
      if (child.type === 'final') lines.push(`${indent}${nodeName(child)} --> [*]`);
    }
  };
  render(machine.root, '  ');
  const all: AnyStateNode[] = [];
  const collect = (node: AnyStateNode) => {
    all.push(node);
    for (const child of Object.values(node.states) as AnyStateNode[]) collect(child);
  };
  collect(machine.root);
  for (const node of all) {
    for (const [eventType, list] of node.transitions) {
      for (const t of list) for (const target of t.target ?? []) lines.push(`  ${nodeName(node)} --> ${nodeName(target)} : ${eventLabel(eventType, t.guard)}`);
    }
    for (const t of node.always ?? []) for (const target of t.target ?? []) lines.push(`  ${nodeName(node)} --> ${nodeName(target)} : ${eventLabel('', t.guard)}`);
  }
  return lines.join('\n') + '\n';
}
