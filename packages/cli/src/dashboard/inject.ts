/**
 * Puts modules of pure functions in the page's script by their source, as one object: each export
 * becomes a `var` of the same name in a scope of their own (a function by its own text, a value as
 * JSON), so they call each other by name, and the page runs the very code the tests run in Node
 * (`dashboard/insights.ts`, `dashboard/charts.ts`) without any name of its own shadowing theirs.
 *
 * @since 0.3.0
 */

/**
 * The script text of `var <name> = { …every export of the modules }`.
 *
 * @since 0.3.0
 * @category rendering
 */
export const source = (
  name: string,
  ...modules: ReadonlyArray<Readonly<Record<string, unknown>>>
): string => {
  const entries = modules.flatMap((module) => Object.entries(module))
  const declarations = entries
    .map(
      ([key, value]) =>
        `var ${key} = ${typeof value === "function" ? value.toString() : JSON.stringify(value)};`
    )
    .join("\n")
  const text = `var ${name} = (function () {\n${declarations}\nreturn { ${entries.map(([key]) => `${key}: ${key}`).join(", ")} };\n})();`
  // The text goes inside a <script> element: nothing in it may close the element.
  if (/<\/script/i.test(text)) throw new Error("a module put in the page contains </script")
  return text
}
