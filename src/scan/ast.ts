/**
 * The few ESTree shapes the scan reads (oxc-parser output), and the file-level facts one walk
 * collects: bindings for same-file constants, Replicate clients, calls, and LoRA keys.
 */
export interface AstNode {
  type: string;
  start: number;
  end: number;
  [key: string]: any;
}

const WRAPPERS = new Set(["TSAsExpression", "TSSatisfiesExpression", "TSNonNullExpression", "TSTypeAssertion", "ParenthesizedExpression", "AwaitExpression", "ChainExpression"]);

/** `x as const`, `x!`, `(x)`, `<T>x`, `await x`, `a?.b()` -> the expression inside. */
export function unwrap(node: AstNode | null | undefined): AstNode | null {
  let n = node ?? null;
  while (n && WRAPPERS.has(n.type)) n = n.expression ?? n.argument;
  return n;
}

/** The name of a non-computed key or member (`a.b`, `{ b: 1 }`, `{ "b": 1 }`, `a["b"]`), else null. */
export function keyName(key: AstNode | null | undefined, computed: boolean): string | null {
  if (!key) return null;
  if (!computed && key.type === "Identifier") return key.name;
  if (key.type === "Literal" && typeof key.value === "string") return key.value;
  if (key.type === "TemplateLiteral" && key.expressions.length === 0) return key.quasis[0].value.cooked;
  return null;
}

export interface FileFacts {
  /** Same-file `const/let/var NAME = init`; null when the name is declared more than once. */
  bindings: Map<string, AstNode | null>;
  /** Local names of the `replicate` package's default or `Replicate` export (import or require). */
  clientClasses: Set<string>;
  /** Variables and properties holding `new Replicate(...)`. */
  clientNames: Set<string>;
  calls: AstNode[];
  /** Object keys and assigned members named a LoRA input. */
  loraKeys: AstNode[];
}

function isRequireOf(node: AstNode | null, module: string): boolean {
  return (
    node?.type === "CallExpression" &&
    node.callee.type === "Identifier" &&
    node.callee.name === "require" &&
    node.arguments[0]?.type === "Literal" &&
    node.arguments[0].value === module
  );
}

/** One pass over the whole tree, without recursion limits on deep minified code. */
export function collectFacts(program: AstNode, loraKeys: ReadonlySet<string>): FileFacts {
  const facts: FileFacts = { bindings: new Map(), clientClasses: new Set(["Replicate"]), clientNames: new Set(), calls: [], loraKeys: [] };
  const news: Array<{ name: string; init: AstNode }> = [];
  const stack: unknown[] = [program];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) if (value[i] && typeof value[i] === "object") stack.push(value[i]);
      continue;
    }
    const node = value as AstNode;
    switch (node.type) {
      case "CallExpression":
        facts.calls.push(node);
        break;
      case "VariableDeclarator":
        if (node.id.type === "Identifier") {
          const name: string = node.id.name;
          facts.bindings.set(name, facts.bindings.has(name) ? null : (node.init ?? null));
          const init = unwrap(node.init);
          if (isRequireOf(init, "replicate")) facts.clientClasses.add(name);
          if (init?.type === "NewExpression") news.push({ name, init });
        } else if (node.id.type === "ObjectPattern" && isRequireOf(unwrap(node.init), "replicate")) {
          for (const p of node.id.properties) if (p.type === "Property" && p.value.type === "Identifier") facts.clientClasses.add(p.value.name);
        }
        break;
      case "ImportDeclaration":
        if (node.source.value === "replicate") {
          for (const s of node.specifiers) facts.clientClasses.add(s.local.name);
        } else if (/replicate/i.test(node.source.value)) {
          // `import { client } from "../lib/replicate"`: a project's own module handing out the client.
          for (const s of node.specifiers) facts.clientNames.add(s.local.name);
        }
        break;
      case "PropertyDefinition": {
        const name = keyName(node.key, node.computed);
        const init = unwrap(node.value);
        if (name && init?.type === "NewExpression") news.push({ name, init });
        break;
      }
      case "AssignmentExpression": {
        const left = node.left;
        const init = unwrap(node.right);
        const name = left.type === "Identifier" ? left.name : left.type === "MemberExpression" ? keyName(left.property, left.computed) : null;
        if (name && init?.type === "NewExpression") news.push({ name, init });
        if (left.type === "MemberExpression" && loraKeys.has(keyName(left.property, left.computed) ?? "")) facts.loraKeys.push(left.property);
        break;
      }
      case "Property":
        if (loraKeys.has(keyName(node.key, node.computed) ?? "")) facts.loraKeys.push(node.key);
        break;
    }
    for (const key in node) {
      if (key === "start" || key === "end" || key === "type") continue;
      const child = node[key];
      if (child && typeof child === "object") stack.push(child);
    }
  }
  for (const { name, init } of news) {
    if (init.callee.type === "Identifier" && facts.clientClasses.has(init.callee.name)) facts.clientNames.add(name);
  }
  return facts;
}
