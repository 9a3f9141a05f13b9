Feature: Add to Contacts from a signed message
  Opening a signed message and adding its sender to Contacts captures the
  sender's encryption certificate; an existing contact is only changed after
  the user agrees.

  Background:
    Given Contoso and Fabrikam each run their own key management
    And UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam with separate signing and encryption certificates
    And UserA trusts Fabrikam's certificate authority

  @KB-09 @KB-10
  Scenario: A new contact holds the sender's encryption certificate
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    And UserA adds UserB to Contacts
    Then a contact for UserB is added
    And UserA's contact for UserB holds UserB's encryption certificate
    And UserA's contact for UserB lists the capabilities "aes-256-cbc, aes-128-cbc, des-ede3-cbc"

  @KB-11
  Scenario Outline: An existing contact is updated only when the user agrees
    Given UserA has UserB in Contacts from an earlier signed message
    And Fabrikam renews UserB's certificates
    When UserB sends a signed message to UserA
    And UserA opens the last message from UserB
    And UserA adds UserB to Contacts
    Then UserA is asked "A contact for userb@fabrikam.example already exists. Do you want to update the existing contact with the new certificate information?"
    And the choices offered are "update, keep"
    When UserA answers "<answer>"
    Then UserA's contact for UserB holds UserB's <which> encryption certificate

    Examples:
      | answer | which    |
      | update | current  |
      | keep   | previous |

  @KB-09
  Scenario: A tampered message cannot be added to Contacts
    When UserB sends a signed message to UserA
    And the last message to UserA is tampered with in transit
    And UserA opens the last message from UserB
    And UserA adds UserB to Contacts
    Then adding the contact is refused
