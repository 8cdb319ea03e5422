// imagebox/serverless: the server as fetch(Request) => Response for Web-standard
// runtimes (Workers, Deno, Bun, Lambda through the function-URL adapter).
export { createServerlessHandler, RemoteSlides, InIsolatePixels, type ServerlessHandler, type ServerlessOptions, type ServerlessSlide } from './handler.js';
export { functionUrlHandler, eventToRequest, responseToResult, type FunctionUrlEvent, type FunctionUrlResult } from './lambda.js';
