// Shorthand for the request errors handlers throw most.
import { ImageboxError } from '../errors.js';

export const badRequest = (message: string): ImageboxError => new ImageboxError('E_BAD_REQUEST', message);
export const notFound = (message: string): ImageboxError => new ImageboxError('E_NOT_FOUND', message);
