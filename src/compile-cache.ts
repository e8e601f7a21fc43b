/**
 * Imported by the entry point before the rest (after early-stop-signals.ts): Node's on-disk compile
 * cache (V8 code cache of every module loaded after this). Starting the bot is mostly loading botbuilder, the Azure SDK and their
 * dependencies, and compiling them was the largest part of it (issue 18 item 6: about 0.8 s of
 * 4.9 s in a start's CPU profile). The cache lives where NODE_COMPILE_CACHE says, else in the
 * system's temp directory; where it cannot be written Node goes on without it, so nothing can fail here.
 */
import nodeModule from 'node:module';

nodeModule.enableCompileCache?.();
