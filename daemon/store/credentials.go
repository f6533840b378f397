package store

import (
	bolt "go.etcd.io/bbolt"
)

// bucketCredentials holds the ECRs' credentials by ecrId, each as the JSON
// package auth writes: key hashes only, never a key.
var bucketCredentials = []byte("credentials")

// Credentials returns every stored ECR credential record, as written.
func (s *DB) Credentials() ([][]byte, error) {
	var out [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCredentials)
		if b == nil { // a read-only database made before credentials existed
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			out = append(out, append([]byte(nil), v...))
			return nil
		})
	})
	return out, err
}

// PutCredential stores (or replaces) one ECR's credential record.
func (s *DB) PutCredential(id string, record []byte) error {
	return s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketCredentials)
		if err != nil {
			return err
		}
		return b.Put([]byte(id), record)
	})
}
