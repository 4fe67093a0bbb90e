/**
 * What a drift scan records per target (one deployment on one cluster): whether the cluster holds
 * what Flotilla applied, and where it does not — per object, per field path, the desired and the
 * live value in short form. Bounded in size (objects and fields capped, values truncated, Secret
 * values never kept), so a record always fits one store item and one API answer.
 */
import { z } from 'zod';
import { Dns1123Label, ObjectRef } from '../model.ts';

/** At most this many drifted objects are kept per record (the counts still say how many). */
export const MAX_DRIFT_OBJECTS = 50;
/** At most this many field paths are kept per object. */
export const MAX_DRIFT_FIELDS = 20;
/** Values are kept to this many characters. */
export const MAX_VALUE_CHARS = 80;
/** What a Secret's values are shown as. */
export const HIDDEN_VALUE = '(hidden)';

export const FieldDrift = z
  .object({
    /** Readable path: `spec.template.spec.containers[name=web].image`. */
    path: z.string(),
    /** Short JSON of the desired value; absent when Flotilla's desired object has none. */
    desired: z.string().optional(),
    /** Short JSON of the live value; absent when the cluster has none. */
    live: z.string().optional(),
    /** The field manager that owns the live value now, when not Flotilla (`kubectl-edit`, …). */
    manager: z.string().optional(),
  })
  .meta({ id: 'FieldDrift' });
export type FieldDrift = z.infer<typeof FieldDrift>;

export const ObjectDrift = z
  .object({
    ref: ObjectRef,
    /** `deleted`: the object is gone; `changed`: fields differ. */
    state: z.enum(['changed', 'deleted']),
    fields: z.array(FieldDrift),
    /** Fields that differ, when more than `fields` lists. */
    fieldCount: z.number().int().nonnegative(),
  })
  .meta({ id: 'ObjectDrift' });
export type ObjectDrift = z.infer<typeof ObjectDrift>;

export const DriftState = z.enum(['InSync', 'Drifted', 'Unknown', 'Skipped']);
export type DriftState = z.infer<typeof DriftState>;

/** The drift of one target, as the last scan saw it. */
export const DriftRecord = z
  .object({
    tenant: z.string(),
    deployment: Dns1123Label,
    cluster: Dns1123Label,
    /**
     * InSync: live matches; Drifted: see `objects`; Unknown: the cluster could not be read;
     * Skipped: the target is not at its desired revision (a rollout or a failure owns it).
     */
    state: DriftState,
    reason: z.string().optional(),
    /** The revision whose objects were compared. */
    revision: z.number().int().positive().optional(),
    objects: z.array(ObjectDrift),
    /** Drifted objects in all (`objects` keeps the first MAX_DRIFT_OBJECTS). */
    objectCount: z.number().int().nonnegative(),
    /** Drifted field paths and deleted objects in all. */
    fieldCount: z.number().int().nonnegative(),
    /** Objects read and compared. */
    checked: z.number().int().nonnegative(),
    executionId: z.string(),
    scannedAt: z.string(),
    /**
     * When DriftDetected went out for this scan's finding: a retried ReportDrift does not publish
     * it again.
     */
    reportedAt: z.string().optional(),
    /** The heal execution that re-applied this target after the scan. */
    healExecutionId: z.string().optional(),
    /** When a heal put it back (the next scan confirms). */
    healedAt: z.string().optional(),
  })
  .meta({ id: 'DriftRecord' });
export type DriftRecord = z.infer<typeof DriftRecord>;
