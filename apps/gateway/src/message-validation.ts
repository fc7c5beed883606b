// Hand-written validation of the gateway's request bodies (no class-validator dependency for a sample). Each error
// names the field and what it must be, and nothing invalid reaches a stream.
import { BadRequestException } from '@nestjs/common';

export interface EmailMessage {
  to: string;
  subject: string;
  body: string;
}

export interface PushMessage {
  userId: string;
  title: string;
  body: string;
}

const EMAIL_ADDRESS = /^[^\s@]+@[^\s@]+$/;
const MAX_SUBJECT = 200;
const MAX_TITLE = 100;
const MAX_BODY = 100_000;

export function parseEmailRequest(input: unknown): EmailMessage {
  const body = object(input);
  const to = text(body, 'to', 320);
  if (!EMAIL_ADDRESS.test(to)) fail('to', 'must be an e-mail address like someone@example.com');
  return { to, subject: text(body, 'subject', MAX_SUBJECT), body: text(body, 'body', MAX_BODY, true) };
}

export function parsePushRequest(input: unknown): PushMessage {
  const body = object(input);
  const rawUser = body.userId;
  // Numeric user ids are common; they travel as strings so every consumer sees one type.
  const userId =
    typeof rawUser === 'number' && Number.isSafeInteger(rawUser) ? String(rawUser) : text(body, 'userId', 200);
  return { userId, title: text(body, 'title', MAX_TITLE), body: text(body, 'body', MAX_BODY, true) };
}

function object(input: unknown): Record<string, unknown> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new BadRequestException('The request body must be a JSON object (Content-Type: application/json).');
  }
  return input as Record<string, unknown>;
}

function text(body: Record<string, unknown>, field: string, max: number, allowEmpty = false): string {
  const value = body[field];
  if (typeof value !== 'string') fail(field, 'is required and must be a string');
  if (!allowEmpty && value.trim() === '') fail(field, 'must not be empty');
  if (value.length > max) fail(field, `must be at most ${max} characters`);
  return value;
}

function fail(field: string, problem: string): never {
  throw new BadRequestException(`"${field}" ${problem}.`);
}
