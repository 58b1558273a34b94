// Node apps as their frameworks lay them out, made afresh in a folder (never vendored): the files a
// generator or a tutorial leaves, and package-lock.json resolved from the npm registry here. Used by
// test/e2e/frameworks.test.ts (each boots to HTTP 200 with no ingot.yaml) and bench/frameworks.ts.
import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

export interface FrameworkApp {
  name: string;
  /** Writes the app into `dir` (which exists and is empty) and resolves its lock file. */
  make: (dir: string) => Promise<void>;
  /** The command ingot derives, and from what. */
  command: string[];
  commandSource: string;
  /** A file of the app's own sources, to change for an app-only rebuild. */
  source: string;
  /** What GET / answers once the instance serves. */
  answer: RegExp;
}

const npm = (dir: string, args: string[]): void => {
  execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir, stdio: "pipe" });
};

/** package.json and package-lock.json as `npm install` leaves them, with nothing installed. */
async function lockedPackage(dir: string, pkg: object, dependencies: string[], devDependencies: string[] = []): Promise<void> {
  await writeFile(join(dir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  if (dependencies.length > 0) npm(dir, ["install", "--package-lock-only", ...dependencies]);
  if (devDependencies.length > 0) npm(dir, ["install", "--package-lock-only", "--save-dev", ...devDependencies]);
}

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
}

/** express-generator's app (`npx express-generator --no-view`): bin/www, started by `node ./bin/www`. */
export const expressGenerator: FrameworkApp = {
  name: "express-generator",
  async make(dir) {
    npm(dirname(dir), ["exec", "--yes", "--", "express-generator@4", "--no-view", "--force", dir]);
    npm(dir, ["install", "--package-lock-only"]);
  },
  command: ["node", "./bin/www"],
  commandSource: "scripts.start: node ./bin/www",
  source: "routes/index.js",
  answer: /<title>Express<\/title>/,
};

/** A NestJS app as `nest new` lays it out, compiled with tsc; `nest start` is its CLI's, start:prod runs dist/main. */
export const nestApp: FrameworkApp = {
  name: "nestjs",
  async make(dir) {
    await writeFiles(dir, {
      "tsconfig.json": `${JSON.stringify({
        compilerOptions: { module: "commonjs", target: "ES2021", declaration: false, removeComments: true, emitDecoratorMetadata: true, experimentalDecorators: true, sourceMap: true, outDir: "./dist", baseUrl: "./", skipLibCheck: true },
      }, null, 2)}\n`,
      "tsconfig.build.json": `${JSON.stringify({ extends: "./tsconfig.json", include: ["src"], exclude: ["node_modules", "test", "dist"] }, null, 2)}\n`,
      "src/main.ts": `import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

async function bootstrap() {
  const app = await NestFactory.create(AppModule);
  await app.listen(process.env.PORT ?? 3000);
}
bootstrap();
`,
      "src/app.module.ts": `import { Module } from '@nestjs/common';
import { AppController } from './app.controller';

@Module({ controllers: [AppController] })
export class AppModule {}
`,
      "src/app.controller.ts": `import { Controller, Get } from '@nestjs/common';

@Controller()
export class AppController {
  @Get()
  getHello(): string {
    return 'Hello World from Nest!';
  }
}
`,
    });
    await lockedPackage(dir, {
      name: "nest-app", version: "0.0.1", private: true,
      scripts: { build: "tsc -p tsconfig.build.json", start: "nest start", "start:dev": "nest start --watch", "start:prod": "node dist/main" },
    }, ["@nestjs/common@11", "@nestjs/core@11", "@nestjs/platform-express@11", "reflect-metadata", "rxjs"], ["typescript@5", "@types/node", "@types/express"]);
  },
  command: ["node", "dist/main"],
  commandSource: "scripts.start:prod: node dist/main",
  source: "src/app.controller.ts",
  answer: /^Hello World from Nest!$/,
};

/** An ESM TypeScript app ("type": "module", NodeNext), built with tsc into dist/. */
export const esmTypeScriptApp: FrameworkApp = {
  name: "esm-typescript",
  async make(dir) {
    await writeFiles(dir, {
      "tsconfig.json": `${JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", outDir: "dist", rootDir: "src", types: ["node"], strict: true, skipLibCheck: true } }, null, 2)}\n`,
      // Top-level await: this runs only as an ES module.
      "src/index.ts": `import { createServer } from "node:http";
import { greeting } from "./greeting.js";

const startedAt = await Promise.resolve(new Date().toISOString());
createServer((_request, response) => response.end(greeting(startedAt))).listen(Number(process.env.PORT ?? 3000));
`,
      "src/greeting.ts": `export function greeting(startedAt: string): string {
  return \`esm ok since \${startedAt}\`;
}
`,
    });
    await lockedPackage(dir, { name: "esm-ts-app", version: "1.0.0", private: true, type: "module", scripts: { build: "tsc", start: "node dist/index.js" } }, [], ["typescript@5", "@types/node"]);
  },
  command: ["node", "dist/index.js"],
  commandSource: "scripts.start: node dist/index.js",
  source: "src/greeting.ts",
  answer: /^esm ok since \d{4}-/,
};

/** A Next.js app (app router) with `output: "standalone"`, as `create-next-app` leaves it plus that line. */
export const nextStandaloneApp: FrameworkApp = {
  name: "nextjs-standalone",
  async make(dir) {
    await writeFiles(dir, {
      "next.config.js": `/** @type {import('next').NextConfig} */\nmodule.exports = { output: "standalone" };\n`,
      "app/layout.js": "export default function RootLayout({ children }) {\n  return <html lang=\"en\"><body>{children}</body></html>;\n}\n",
      // Rendered per request, so the answer proves the server runs, not only that a file was served.
      "app/page.js": "export const dynamic = \"force-dynamic\";\n\nexport default function Page() {\n  return <p>hello from next in {process.env.NODE_ENV}</p>;\n}\n",
      "public/robots.txt": "User-agent: *\n",
    });
    await lockedPackage(dir, { name: "next-app", version: "0.1.0", private: true, scripts: { dev: "next dev", build: "next build", start: "next start" } }, ["next", "react", "react-dom"]);
  },
  command: ["node", "server.js"],
  commandSource: "Next.js standalone output (.next/standalone/server.js)",
  source: "app/page.js",
  answer: /hello from next in (<!-- -->)?production/,
};

export const FRAMEWORK_APPS = [expressGenerator, nestApp, esmTypeScriptApp, nextStandaloneApp];
