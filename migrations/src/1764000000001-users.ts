import { MigrationInterface, QueryRunner } from 'typeorm';

export class Users1764000000001 implements MigrationInterface {
  name = 'Users1764000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pgcrypto`);
    // Usernames are stored lowercased (the CHECK keeps it so) and compared exactly, so `Admin` and `admin` are one user.
    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        username text NOT NULL UNIQUE CHECK (username = lower(username) AND length(username) BETWEEN 1 AND 64),
        role text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
        "passwordHash" text NOT NULL,
        disabled boolean NOT NULL DEFAULT false,
        "createdAt" timestamptz NOT NULL DEFAULT now(),
        "updatedAt" timestamptz NOT NULL DEFAULT now(),
        "lastLoginAt" timestamptz NULL
      )`);
    // Only the SHA-256 of a session token is stored: a leaked table does not log anyone in.
    await q.query(`
      CREATE TABLE sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "userId" uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        "tokenHash" text NOT NULL UNIQUE,
        "expiresAt" timestamptz NOT NULL,
        "createdAt" timestamptz NOT NULL DEFAULT now(),
        "lastSeenAt" timestamptz NOT NULL DEFAULT now(),
        "sourceIp" text NULL,
        "userAgent" text NULL
      )`);
    await q.query(`CREATE INDEX sessions_user ON sessions ("userId")`);
    await q.query(`CREATE INDEX sessions_expires_at ON sessions ("expiresAt")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE sessions`);
    await q.query(`DROP TABLE users`);
  }
}
