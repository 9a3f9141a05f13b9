Feature: Sentences scenario writers asked for
  Revoking a user's earlier certificates, choosing the cipher a client
  encrypts with, letting a certificate expire, letting an hour pass, and
  checking who is in Contacts, including contacts a client captures by itself.

  Background:
    Given Contoso and Fabrikam each run their own key management
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam
    And UserA trusts Fabrikam's certificate authority

  @IMP-05
  Scenario: Revoking the certificates UserB held before a renewal makes the old contact unusable
    Given UserA has UserB in Contacts from an earlier signed message
    When Fabrikam renews UserB's certificates
    And Fabrikam revokes UserB's previous certificates
    And UserA sends an encrypted message to UserB
    Then the outcome is "prompt"
    And UserB is listed as unusable because "certificate revoked"

  @IMP-05
  Scenario: Revoking the previous certificates leaves the renewed ones usable
    Given UserA has UserB in Contacts from an earlier signed message
    When Fabrikam renews UserB's certificates
    And Fabrikam revokes UserB's previous certificates
    And UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    Then UserA sees the signature as "valid"

  @KB-12
  Scenario: UserA's client encrypts with the cipher it is set to
    Given every client uses the "thunderbird" profile
    And UserA has UserB in Contacts from an earlier signed message
    And UserA's client encrypts with "aes-128-gcm"
    When UserA sends an encrypted message to UserB
    Then the message is encrypted with "aes-128-gcm"
    And UserB can read the message

  @IMP-05
  Scenario: Once UserB's certificate expires UserA cannot encrypt to it
    Given UserA has UserB in Contacts from an earlier signed message
    When UserB's certificate expires
    And UserA sends an encrypted message to UserB
    Then the outcome is "prompt"
    And UserB is listed as unusable because "certificate expired"

  @KB-13
  Scenario: A new contact is usable once an hour has passed
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    Then UserA has no contact for UserB
    When UserA adds UserB to Contacts
    Then UserA has UserB in Contacts
    When UserA sends an encrypted message to UserB
    Then UserB is listed as unusable because "the certificate in Contacts is not processed yet"
    When UserA answers "cancel"
    And 1 hour passes
    And UserA sends an encrypted message to UserB
    Then the message is sent encrypted

  @KB-10 @KB-11
  Scenario: A client that captures contacts by itself adds UserB on opening, and Add to Contacts asks nothing
    Given the organization policy "rfc8551"
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    Then a contact for UserB is added
    And UserA has UserB in Contacts
    When UserA adds UserB to Contacts
    Then a contact for UserB is added
    When UserA sends an encrypted message to UserB
    Then the message is sent encrypted
    And UserB can read the message
