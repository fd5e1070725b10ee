import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, type Repository } from 'typeorm';
import { UserEntity } from '../database/entities/user.entity.js';
import { USERNAME_PATTERN } from './auth.constants.js';

/** Unique-constraint violation codes: PostgreSQL, then better-sqlite3. */
const UNIQUE_VIOLATION_CODES = new Set([
  '23505',
  'SQLITE_CONSTRAINT_UNIQUE',
  'SQLITE_CONSTRAINT_PRIMARYKEY',
]);

/**
 * The user store. Usernames are case-sensitive and unique.
 *
 * @publicApi
 */
@Injectable()
export class UsersService {
  constructor(
    @InjectRepository(UserEntity)
    private readonly users: Repository<UserEntity>,
  ) {}

  /** Whether a user with this exact username exists (e.g. the WebSocket "Invalid user" check). */
  exists(username: string): Promise<boolean> {
    // A name no one can register is answered without a query: PostgreSQL fails on a NUL byte.
    if (!USERNAME_PATTERN.test(username)) {
      return Promise.resolve(false);
    }
    return this.users.existsBy({ username });
  }

  /** The user with this exact username, or null. */
  findByUsername(username: string): Promise<UserEntity | null> {
    if (!USERNAME_PATTERN.test(username)) {
      return Promise.resolve(null);
    }
    return this.users.findOneBy({ username });
  }

  /**
   * Creates a user from an already hashed password. Resolves to null when the username is
   * taken (also when another request or node took it at the same moment).
   */
  async create(
    username: string,
    passwordHash: string,
  ): Promise<UserEntity | null> {
    const user = this.users.create({
      username,
      passwordHash,
      createdAt: new Date(),
    });
    try {
      return await this.users.save(user);
    } catch (error) {
      if (isUniqueViolation(error)) {
        return null;
      }
      throw error;
    }
  }

  /** Deletes a user; resolves to whether one was deleted. Their tokens stop working. */
  async delete(username: string): Promise<boolean> {
    const result = await this.users.delete({ username });
    return (result.affected ?? 0) > 0;
  }
}

function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) {
    return false;
  }
  const driverError: unknown = error.driverError;
  const code: unknown =
    typeof driverError === 'object' && driverError !== null
      ? (driverError as { code?: unknown }).code
      : undefined;
  return typeof code === 'string' && UNIQUE_VIOLATION_CODES.has(code);
}
