/**
 * How the SQLite store tells that the file system under its database is read-only
 * (src/store/sqlite/read-only-file-system.ts): access(2)'s EROFS, or the mount's options in
 * /proc/self/mountinfo (ext4's emergency_ro after a disk error, which access(2) does not show), for the
 * mount holding the data directory and not another. The real file system: test/faults/readiness.test.ts.
 */
import assert from 'node:assert/strict';
import { diskFault, readOnlyFileSystem, type ReadOnlyLooks } from '../../src/store/sqlite/read-only-file-system';

const erofs = () => {
  throw Object.assign(new Error('read-only file system'), { code: 'EROFS' });
};
const line = (id: number, point: string, options: string, superOptions: string) => `${id} 1 8:${id} / ${point} ${options},relatime shared:${id} - ext4 /dev/sda${id} ${superOptions}`;

function looks(mountinfo: string[] | undefined, access: ReadOnlyLooks['access'] = () => {}): ReadOnlyLooks {
  return { access, mountinfo: () => mountinfo?.join('\n'), realpath: (p) => p };
}

describe('the SQLite store: a read-only file system under it', () => {
  const file = '/srv/countersign data/countersign.db';
  const dir = '/srv/countersign data';

  it('is said with how it was seen: EROFS from access(2), a read-only mount, a read-only file system, ext4 read-only after an error', () => {
    const say = (how: string) =>
      `the file system holding ${dir} is read-only (${how}), so no write to the database can succeed: it was mounted read-only, or the kernel made it so after a disk error (its log, dmesg, says which). ` +
      'Make it writable again (mount -o remount,rw; after a disk error, stop Countersign, check the file system with fsck and mount it again): Countersign is ready once a write commits';
    assert.equal(readOnlyFileSystem(file, looks(undefined, erofs)), say('EROFS'));
    assert.equal(readOnlyFileSystem(file, looks([line(1, '/', 'rw', 'rw'), line(2, '/srv', 'ro', 'rw')])), say('mounted ro at /srv'));
    assert.equal(readOnlyFileSystem(file, looks([line(1, '/', 'rw', 'rw'), line(2, '/srv', 'rw', 'ro,errors=remount-ro')])), say('ro at /srv'));
    assert.equal(readOnlyFileSystem(file, looks([line(1, '/', 'rw', 'rw'), line(2, '/srv/countersign\\040data', 'rw', 'rw,errors=remount-ro,emergency_ro')])), say('emergency_ro at /srv/countersign data, after an error'));
  });

  it('looks at the mount holding the data directory only: the longest mount point above it, the last mounted there', () => {
    // A read-only mount beside it, or one above it that another mount covers.
    assert.equal(readOnlyFileSystem(file, looks([line(1, '/', 'ro', 'ro'), line(2, '/srv', 'rw', 'rw'), line(3, '/srv/countersign', 'ro', 'ro')])), undefined);
    assert.equal(readOnlyFileSystem(file, looks([line(2, '/srv', 'ro', 'ro'), line(3, '/srv', 'rw', 'rw')])), undefined);
    assert.match(readOnlyFileSystem(file, looks([line(2, '/srv', 'rw', 'rw'), line(3, '/srv', 'ro', 'rw')])) ?? '', /\(mounted ro at \/srv\)/);
  });

  it('is not said for a writable file system, where there is no mountinfo, or for a mode that denies this user (SQLite still writes through its open files)', () => {
    assert.equal(readOnlyFileSystem(file, looks([line(1, '/', 'rw', 'rw,errors=remount-ro')])), undefined);
    assert.equal(readOnlyFileSystem(file, looks(undefined)), undefined);
    const denied = () => {
      throw Object.assign(new Error('permission denied'), { code: 'EACCES' });
    };
    assert.equal(readOnlyFileSystem(file, looks([line(1, '/', 'rw', 'rw')], denied)), undefined);
  });

  it('makes a storage error of SQLite\'s a read-only file system, not a full or failing disk, while the file system is read-only', () => {
    assert.equal(diskFault(file, looks(undefined, erofs)), 'read-only-file-system');
    assert.equal(diskFault(file, looks([line(1, '/', 'rw', 'rw'), line(2, '/srv', 'rw', 'rw,errors=remount-ro,emergency_ro')])), 'read-only-file-system');
    assert.equal(diskFault(file, looks([line(1, '/', 'rw', 'rw')])), 'disk', 'writable: full or failing');
    assert.equal(diskFault(file, looks(undefined)), 'disk');
  });
});
