// GitLab CI (GITLAB_CI=true, or --ci gitlab): each image's lines in a collapsible section of the job log,
// collapsed (section_start:<unix time>:<name>[collapsed=true]\r\e[0K<header> ... section_end:<unix time>:<name>).
// A section's name takes letters, digits, '_', '.' and '-' only, and must be unique in the job: the image's
// name so cleaned, numbered. Build output cannot open or close a section: its erase-line sequences, which
// GitLab's markers need, are dropped.
import { groupedReporter, type GroupedView } from './grouped.ts';

const ESC = '\u001b';
export const sectionName = (image: string, n: number) => `build_images_${n}_${image.replace(/[^A-Za-z0-9_.-]/g, '_')}`;

export function gitlabReporter(out: NodeJS.WritableStream, verbose: boolean, now: () => number = Date.now): GroupedView {
  const unix = () => Math.floor(now() / 1000);
  return groupedReporter(out, verbose, {
    open: (image, n) => `${ESC}[0Ksection_start:${unix()}:${sectionName(image, n)}[collapsed=true]\r${ESC}[0K${image}`,
    close: (image, n) => `${ESC}[0Ksection_end:${unix()}:${sectionName(image, n)}\r${ESC}[0K`,
    guard: (line) => line.split(`${ESC}[0K`).join(''),
  });
}
