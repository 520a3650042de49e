/**
 * What an expression is before the program runs, as far as one file tells: literals, template
 * strings without expressions (or whose expressions are themselves constant), `+` of constants,
 * same-file constants and members of constant objects. Everything else is "dynamic".
 */
import { keyName, unwrap, type AstNode } from "./ast.js";

export type StaticValue =
  | { kind: "literal"; value: string | number | boolean | null; node: AstNode }
  | { kind: "object"; node: AstNode }
  | { kind: "dynamic"; node: AstNode };

type Bindings = ReadonlyMap<string, AstNode | null>;

const MAX_DEPTH = 8;

/** Follows same-file bindings (`const MODEL = "..."`) to the expression that gives the value. */
export function resolve(node: AstNode, bindings: Bindings, depth = 0): AstNode {
  const n = unwrap(node) ?? node;
  if (n.type === "Identifier" && depth < MAX_DEPTH) {
    const init = bindings.get(n.name);
    if (init) return resolve(init, bindings, depth + 1);
  }
  return n;
}

export function evaluate(node: AstNode, bindings: Bindings, depth = 0): StaticValue {
  const n = resolve(node, bindings, depth);
  const dynamic: StaticValue = { kind: "dynamic", node: n };
  if (depth > MAX_DEPTH) return dynamic;
  switch (n.type) {
    case "Literal":
      return typeof n.value === "object" && n.value !== null ? dynamic : { kind: "literal", value: n.value, node: n };
    case "TemplateLiteral": {
      let s = n.quasis[0].value.cooked ?? "";
      for (let i = 0; i < n.expressions.length; i++) {
        const part = evaluate(n.expressions[i], bindings, depth + 1);
        if (part.kind !== "literal") return dynamic;
        s += String(part.value) + (n.quasis[i + 1].value.cooked ?? "");
      }
      return { kind: "literal", value: s, node: n };
    }
    case "BinaryExpression": {
      if (n.operator !== "+") return dynamic;
      const l = evaluate(n.left, bindings, depth + 1);
      const r = evaluate(n.right, bindings, depth + 1);
      if (l.kind !== "literal" || r.kind !== "literal") return dynamic;
      const value = typeof l.value === "number" && typeof r.value === "number" ? l.value + r.value : String(l.value) + String(r.value);
      return { kind: "literal", value, node: n };
    }
    case "UnaryExpression": {
      const a = evaluate(n.argument, bindings, depth + 1);
      if (a.kind !== "literal") return dynamic;
      if (n.operator === "-" && typeof a.value === "number") return { kind: "literal", value: -a.value, node: n };
      if (n.operator === "!") return { kind: "literal", value: !a.value, node: n };
      return dynamic;
    }
    case "ObjectExpression":
      return { kind: "object", node: n };
    case "MemberExpression": {
      const name = keyName(n.property, n.computed);
      const object = evaluate(n.object, bindings, depth + 1);
      if (name === null || object.kind !== "object") return dynamic;
      const prop = findProperty(object.node, name, bindings, depth + 1);
      return prop ? evaluate(prop.value, bindings, depth + 1) : dynamic;
    }
    default:
      return dynamic;
  }
}

/** The last property named `name` of an object literal, looking into spreads of constant objects. */
export function findProperty(object: AstNode, name: string, bindings: Bindings, depth = 0): AstNode | null {
  let found: AstNode | null = null;
  for (const p of object.properties) {
    if (p.type === "Property" && keyName(p.key, p.computed) === name) found = p;
    else if (p.type === "SpreadElement" && depth < MAX_DEPTH) {
      const inner = evaluate(p.argument, bindings, depth + 1);
      if (inner.kind === "object") found = findProperty(inner.node, name, bindings, depth + 1) ?? found;
    }
  }
  return found;
}

/**
 * The values an expression may take: both sides of `a ?? b`, `a || b` and `c ? a : b`, so that
 * `process.env.MODEL ?? "black-forest-labs/flux-dev"` shows its literal.
 */
export function alternatives(node: AstNode, bindings: Bindings, depth = 0): StaticValue[] {
  const n = resolve(node, bindings, depth);
  if (depth < MAX_DEPTH && n.type === "LogicalExpression") {
    return [...alternatives(n.left, bindings, depth + 1), ...alternatives(n.right, bindings, depth + 1)];
  }
  if (depth < MAX_DEPTH && n.type === "ConditionalExpression") {
    return [...alternatives(n.consequent, bindings, depth + 1), ...alternatives(n.alternate, bindings, depth + 1)];
  }
  return [evaluate(n, bindings, depth)];
}

/** A string with `\0` where a part is not constant: enough to recognise a URL's host and path. */
export function stringShape(node: AstNode, bindings: Bindings, depth = 0): string {
  const n = resolve(node, bindings, depth);
  if (depth > MAX_DEPTH) return "\0";
  if (n.type === "Literal") return typeof n.value === "string" ? n.value : "\0";
  if (n.type === "TemplateLiteral") {
    let s = n.quasis[0].value.cooked ?? "";
    for (let i = 0; i < n.expressions.length; i++) s += stringShape(n.expressions[i], bindings, depth + 1) + (n.quasis[i + 1].value.cooked ?? "");
    return s;
  }
  if (n.type === "BinaryExpression" && n.operator === "+") return stringShape(n.left, bindings, depth + 1) + stringShape(n.right, bindings, depth + 1);
  const v = evaluate(n, bindings, depth);
  return v.kind === "literal" && typeof v.value === "string" ? v.value : "\0";
}
