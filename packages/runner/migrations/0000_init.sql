CREATE SCHEMA "podline";
--> statement-breakpoint
CREATE TABLE "podline"."events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" uuid NOT NULL,
	"task" text,
	"attempt" integer,
	"from_state" text,
	"to_state" text NOT NULL,
	"worker" text,
	"message" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "podline"."pipelines" (
	"name" text NOT NULL,
	"version" text NOT NULL,
	"plan" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pipelines_name_version_pk" PRIMARY KEY("name","version")
);
--> statement-breakpoint
CREATE TABLE "podline"."runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"pipeline" text NOT NULL,
	"version" text NOT NULL,
	"params" jsonb NOT NULL,
	"state" text NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "podline"."task_logs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" uuid NOT NULL,
	"task" text NOT NULL,
	"attempt" integer NOT NULL,
	"level" text NOT NULL,
	"message" text NOT NULL,
	"fields" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "podline"."task_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" uuid NOT NULL,
	"pipeline" text NOT NULL,
	"version" text NOT NULL,
	"task" text NOT NULL,
	"kind" text NOT NULL,
	"needs" text[] NOT NULL,
	"is_leaf" boolean NOT NULL,
	"trigger_rule" text NOT NULL,
	"state" text NOT NULL,
	"attempt" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer NOT NULL,
	"lease_expiries" integer DEFAULT 0 NOT NULL,
	"priority" integer DEFAULT 0 NOT NULL,
	"available_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lease_owner" text,
	"lease_expires_at" timestamp with time zone,
	"timeout_ms" integer,
	"timeout_at" timestamp with time zone,
	"pod_name" text,
	"pod_namespace" text,
	"error" text,
	"error_stack" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "podline"."workers" (
	"id" text PRIMARY KEY NOT NULL,
	"hostname" text NOT NULL,
	"pid" integer NOT NULL,
	"versions" jsonb NOT NULL,
	"concurrency" integer NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL,
	"stopped_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "podline"."xcoms" (
	"run_id" uuid NOT NULL,
	"task" text NOT NULL,
	"key" text NOT NULL,
	"value" jsonb NOT NULL,
	"size" integer NOT NULL,
	"attempt" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "xcoms_run_id_task_key_pk" PRIMARY KEY("run_id","task","key")
);
--> statement-breakpoint
ALTER TABLE "podline"."events" ADD CONSTRAINT "events_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "podline"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "podline"."task_logs" ADD CONSTRAINT "task_logs_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "podline"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "podline"."task_runs" ADD CONSTRAINT "task_runs_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "podline"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "podline"."xcoms" ADD CONSTRAINT "xcoms_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "podline"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "events_run_idx" ON "podline"."events" USING btree ("run_id","id");--> statement-breakpoint
CREATE INDEX "runs_pipeline_created_idx" ON "podline"."runs" USING btree ("pipeline","created_at");--> statement-breakpoint
CREATE INDEX "task_logs_run_idx" ON "podline"."task_logs" USING btree ("run_id","task","id");--> statement-breakpoint
CREATE UNIQUE INDEX "task_runs_run_task_idx" ON "podline"."task_runs" USING btree ("run_id","task");--> statement-breakpoint
CREATE INDEX "task_runs_claim_idx" ON "podline"."task_runs" USING btree ("priority" DESC NULLS LAST,"available_at","id") WHERE state in ('queued', 'up_for_retry');--> statement-breakpoint
CREATE INDEX "task_runs_lease_idx" ON "podline"."task_runs" USING btree ("lease_expires_at") WHERE state = 'running';