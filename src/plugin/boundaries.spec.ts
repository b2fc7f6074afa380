import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../..');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(full) : /\.ts$/.test(e.name) && !/\.spec\.ts$/.test(e.name) ? [full] : [];
  });
}

describe('plug-in boundaries', () => {
  it('the plug-in (src/, hooks/, migrations/) never imports the reference host or the tests', () => {
    const offenders = ['src', 'hooks', 'migrations']
      .flatMap((d) => sourceFiles(path.join(ROOT, d)))
      .filter((file) => /from\s+['"][^'"]*(reference-host|\/test\/)[^'"]*['"]|require\(\s*['"][^'"]*reference-host/.test(fs.readFileSync(file, 'utf8')))
      .map((file) => path.relative(ROOT, file));
    expect(offenders).toEqual([]);
  });
});
