"""The initial schema: users, tokens, datasets, permissions, job groups, jobs, job events.

Revision ID: 0001
Revises: (none)
Create Date: 2026-12-04 20:20:51.719539
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=500), nullable=True),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('name', name=op.f('uq_users_name')),
    sqlite_autoincrement=True
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'])

    op.create_table('imported_datasets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('uri', sa.Text(), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_imported_datasets_owner_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imported_datasets')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_imported_datasets_owner_id'), 'imported_datasets', ['owner_id'])

    op.create_table('wrangled_datasets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('input_kind', sa.String(length=20), nullable=False),
    sa.Column('input_id', sa.Integer(), nullable=False),
    sa.Column('recipe', sa.JSON(), nullable=False),
    sa.Column('last_run', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("input_kind IN ('imported', 'wrangled')", name=op.f('ck_wrangled_datasets_input_kind')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_wrangled_datasets_owner_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wrangled_datasets')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_wrangled_datasets_owner_id'), 'wrangled_datasets', ['owner_id'])

    op.create_table('job_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('creator_id', sa.Integer(), nullable=False),
    sa.Column('wrangled_dataset_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ranfrom', sa.String(length=10), nullable=True),
    sa.Column('execution', sa.String(length=40), nullable=False),
    sa.Column('profiling_enabled', sa.Boolean(), nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('request', sa.JSON(), nullable=False),
    sa.Column('spec_path', sa.Text(), nullable=True),
    sa.Column('run_as', sa.String(length=200), nullable=True),
    sa.Column('tag', sa.String(length=200), nullable=True),
    sa.Column('handle', sa.JSON(), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('profile', sa.JSON(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('Created', 'Pending', 'InProgress', 'Complete', 'Failed', 'Canceled')", name=op.f('ck_job_groups_status')),
    sa.ForeignKeyConstraint(['creator_id'], ['users.id'], name=op.f('fk_job_groups_creator_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['wrangled_dataset_id'], ['wrangled_datasets.id'], name=op.f('fk_job_groups_wrangled_dataset_id_wrangled_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_groups')),
    sa.UniqueConstraint('creator_id', 'idempotency_key', name=op.f('uq_job_groups_creator_id_idempotency_key')),
    sa.UniqueConstraint('tag', name=op.f('uq_job_groups_tag')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_job_groups_creator_id_id'), 'job_groups', ['creator_id', 'id'])
    op.create_index(op.f('ix_job_groups_status'), 'job_groups', ['status'])
    op.create_index(op.f('ix_job_groups_wrangled_dataset_id'), 'job_groups', ['wrangled_dataset_id'])

    op.create_table('permissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wrangled_dataset_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.CheckConstraint("role IN ('viewer', 'editor')", name=op.f('ck_permissions_role')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_permissions_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['wrangled_dataset_id'], ['wrangled_datasets.id'], name=op.f('fk_permissions_wrangled_dataset_id_wrangled_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_permissions')),
    sa.UniqueConstraint('wrangled_dataset_id', 'user_id', name=op.f('uq_permissions_wrangled_dataset_id_user_id')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_permissions_user_id'), 'permissions', ['user_id'])

    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_group_id', sa.Integer(), nullable=False),
    sa.Column('job_type', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('percent_complete', sa.Integer(), nullable=False),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('write_setting', sa.JSON(), nullable=True),
    sa.Column('output_path', sa.Text(), nullable=True),
    sa.Column('rows', sa.BigInteger(), nullable=True),
    sa.Column('files', sa.JSON(), nullable=True),
    sa.Column('delta_version', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("job_type IN ('wrangle', 'filewriter', 'profile')", name=op.f('ck_jobs_job_type')),
    sa.CheckConstraint("status IN ('Created', 'Pending', 'InProgress', 'Complete', 'Failed', 'Canceled')", name=op.f('ck_jobs_status')),
    sa.CheckConstraint('percent_complete BETWEEN 0 AND 100', name=op.f('ck_jobs_percent_complete')),
    sa.ForeignKeyConstraint(['job_group_id'], ['job_groups.id'], name=op.f('fk_jobs_job_group_id_job_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_jobs_job_group_id'), 'jobs', ['job_group_id'])

    op.create_table('job_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_group_id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('Created', 'Pending', 'InProgress', 'Complete', 'Failed', 'Canceled')", name=op.f('ck_job_events_status')),
    sa.ForeignKeyConstraint(['job_group_id'], ['job_groups.id'], name=op.f('fk_job_events_job_group_id_job_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_job_events_job_id_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_events')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_job_events_job_group_id'), 'job_events', ['job_group_id'])



def downgrade() -> None:
    op.drop_index(op.f('ix_job_events_job_group_id'), table_name='job_events')

    op.drop_table('job_events')
    op.drop_index(op.f('ix_jobs_job_group_id'), table_name='jobs')

    op.drop_table('jobs')
    op.drop_index(op.f('ix_permissions_user_id'), table_name='permissions')

    op.drop_table('permissions')
    op.drop_index(op.f('ix_job_groups_wrangled_dataset_id'), table_name='job_groups')
    op.drop_index(op.f('ix_job_groups_status'), table_name='job_groups')
    op.drop_index(op.f('ix_job_groups_creator_id_id'), table_name='job_groups')

    op.drop_table('job_groups')
    op.drop_index(op.f('ix_wrangled_datasets_owner_id'), table_name='wrangled_datasets')

    op.drop_table('wrangled_datasets')
    op.drop_index(op.f('ix_imported_datasets_owner_id'), table_name='imported_datasets')

    op.drop_table('imported_datasets')
    op.drop_index(op.f('ix_api_tokens_user_id'), table_name='api_tokens')

    op.drop_table('api_tokens')
    op.drop_table('users')
