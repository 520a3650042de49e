/** The only importer of @inquirer/prompts; loaded only when a question must be asked. */
export async function askSecret(message: string): Promise<string> {
  const { password } = await import("@inquirer/prompts");
  return password({ message, mask: "*" });
}

export async function askConfirm(message: string): Promise<boolean> {
  const { confirm } = await import("@inquirer/prompts");
  return confirm({ message, default: false });
}
