/** The registry client a command talks to, and where lines that belong to no step (its retries) go. */
import process from "node:process";
import type { Settings } from "../options.ts";
import type { Registry } from "../registry/types.ts";
import { createSession } from "../session.ts";

/** Lines that belong to no step (registry retries): through the reporter once a command has one, so a live status line stays intact. */
let notice: (line: string) => void = (line) => void process.stderr.write(`${line}\n`);

/** From now on, lines that belong to no step go to `to` (a reporter's `note`). */
export function noticesTo(to: (line: string) => void): void {
  notice = to;
}

/** A line that belongs to no step, to wherever notices go now (see noticesTo). */
export const noticeLine = (line: string): void => notice(line);

/** The registry client the flags and environment ask for; its retry lines go to the reporter once there is one (stderr before). */
export async function registryFor(settings: Settings): Promise<Registry> {
  return (await createSession(settings, { registry: true, log: noticeLine })).registry!;
}
