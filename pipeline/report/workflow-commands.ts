// GitHub Actions' workflow commands (`::name prop=value,...::message`), escaped as its spec says (actions/
// toolkit's command.ts): in the message %, CR and LF; in a property also ':' and ','. Apart from the GitHub
// view, so that masking a secret or annotating a config error loads nothing else.
import path from 'node:path';
import type { Problem, SourcePosition } from '../model/errors.ts';

export function escapeData(value: string): string {
  return value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function escapeProperty(value: string): string {
  return escapeData(value).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export function workflowCommand(name: string, properties: Readonly<Record<string, string | number | undefined>>, message: string): string {
  const props = Object.entries(properties)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined && entry[1] !== '')
    .map(([key, value]) => `${key}=${escapeProperty(String(value))}`)
    .join(',');
  return `::${name}${props ? ` ${props}` : ''}::${escapeData(message)}`;
}

export const maskCommand = (value: string) => `::add-mask::${escapeData(value)}`;

/** A file as GitHub places an annotation: relative to the checkout ($GITHUB_WORKSPACE), with '/'. */
export function annotationFile(file: string, workspace: string | undefined = process.env['GITHUB_WORKSPACE']): string {
  const absolute = path.resolve(file);
  const relative = workspace ? path.relative(workspace, absolute) : path.relative(process.cwd(), absolute);
  return (relative.startsWith('..') || path.isAbsolute(relative) ? absolute : relative).split(path.sep).join('/');
}

export function errorAnnotation(message: string, at?: SourcePosition, title?: string, workspace?: string): string {
  const place = at ? { file: annotationFile(at.file, workspace), line: at.line, col: at.col } : {};
  return workflowCommand('error', { ...place, title }, message);
}

/** Each config error as an annotation on its file and line (the problems' human lines are printed too). */
export function problemAnnotations(problems: readonly Problem[], title = 'build-images: config error', workspace?: string): string[] {
  return problems.map((p) => errorAnnotation(p.hint ? `${p.message}\nhint: ${p.hint}` : p.message, p.at, title, workspace));
}
