#!/usr/bin/env node
// aigw: the embedded gateway and its companions (main.ts says what each command does).
import { runAigw } from "./main.js";

const code = await runAigw(process.argv.slice(2));
// A failed start may leave handles behind; a finished command ends with its event loop.
if (code !== 0) process.exit(code);
