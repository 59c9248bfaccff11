// A .js file that is an ES module because package.json says "type": "module".
export async function handler() {
  return { module: typeof require === 'undefined' ? 'esm' : 'cjs' };
}
