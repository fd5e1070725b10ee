import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A registered user. Created by `UsersService`; the table comes from the migrations.
 *
 * @publicApi
 */
@Entity({ name: 'users' })
@Index('UQ_users_username', ['username'], { unique: true })
export class UserEntity {
  /** Surrogate key. */
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  /** Unique login name, 3-32 of `[A-Za-z0-9_.-]` (case-sensitive). */
  @Column({ type: 'varchar', length: 32 })
  username: string;

  /** Self-describing salted scrypt hash (see `PasswordHasher`). */
  @Column({ name: 'password_hash', type: 'varchar', length: 255 })
  passwordHash: string;

  /** When the user registered. */
  @Column({ name: 'created_at', type: Date })
  createdAt: Date;
}
